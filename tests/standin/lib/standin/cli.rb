# frozen_string_literal: true

require 'optparse'

module Standin
  # chef-client's command line, its run lock and its exit codes
  # (0 success, 1 failed run, 2 SIGINT, 3 SIGTERM: Chef RFC 062).
  module CLI
    EXIT_SUCCESS = 0
    EXIT_FAILURE = 1
    EXIT_SIGINT = 2
    EXIT_SIGTERM = 3

    def self.parse(argv)
      options = { config: '/etc/chef/client.rb' }
      overrides = {}
      OptionParser.new do |o|
        o.banner = "Usage: chef-client [options]\n#{VERSION_TEXT}"
        o.on('-v', '--version') { options[:version] = true }
        o.on('-c', '--config FILE') { |v| options[:config] = v }
        o.on('-E', '--environment ENV') { |v| overrides[:environment] = v }
        o.on('-j', '--json-attributes FILE') { |v| overrides[:json_attribs] = v }
        o.on('-l', '--log_level LEVEL', '--log-level LEVEL') { |v| overrides[:log_level] = v.to_sym }
        o.on('-L', '--logfile FILE') { |v| overrides[:log_location] = v }
        o.on('-W', '--why-run') { overrides[:why_run] = true }
        o.on('-z', '--local-mode') { overrides[:local_mode] = true }
        o.on('-o', '--override-runlist LIST') { |v| overrides[:override_runlist] = v.split(',').map { |i| normalize(i) } }
        o.on('-N', '--node-name NAME') { |v| overrides[:node_name] = v }
        o.on('-k', '--client_key FILE') { |v| overrides[:client_key] = v }
        o.on('-S', '--server URL') { |v| overrides[:chef_server_url] = v }
        o.on('--run-lock-timeout SECONDS', Integer) { |v| overrides[:run_lock_timeout] = v }
        o.on('--[no-]color') { |_v| nil }
        o.on('--chef-license ACCEPTANCE') { |_v| nil }
        o.on('-F', '--format FORMAT') { |v| raise NotImplemented, "output format #{v}" unless %w(doc).include?(v) }
        %w(-d --daemonize -i --interval -s --splay --once -r --runlist --recipe-url --fips --force-formatter
           --force-logger --profile-ruby --target -t).each do |flag|
          o.on(flag) { raise NotImplemented, "chef-client option #{flag}" }
        end
      end.parse!(argv)
      raise Error, "unexpected arguments: #{argv.join(' ')}" unless argv.empty?

      [options, overrides]
    end

    def self.normalize(item)
      item = item.strip
      item.match?(/\A(recipe|role)\[.+\]\z/) ? item : "recipe[#{item}]"
    end

    def self.run(argv)
      options, overrides = parse(argv.dup)
      if options[:version]
        puts VERSION_TEXT
        return EXIT_SUCCESS
      end
      config = Config.load(options[:config], overrides)
      output = Output.new(level: config[:log_level] || :auto, log_file: config[:log_location])
      Chef::Log.output = output
      with_run_lock(config, output) { ClientRun.new(config, output).run }
      EXIT_SUCCESS
    rescue Interrupt
      warn 'chef-client: SIGINT received, stopping'
      EXIT_SIGINT
    rescue SignalException => e
      warn "chef-client: #{e.message} received, stopping"
      e.signo == Signal.list['TERM'] ? EXIT_SIGTERM : EXIT_FAILURE
    rescue StandardError, ScriptError => e
      # A failed run has been reported by ClientRun; anything before it (options,
      # configuration, the run lock) is reported here, like chef-client's fatal lines.
      (output || Output.new).fatal("#{e.class}: #{e.message}") unless e.instance_variable_get(:@standin_reported)
      EXIT_FAILURE
    end

    # chef-client takes a lock so that two runs never overlap; a second one waits.
    def self.with_run_lock(config, output)
      path = config.lockfile
      FileUtils.mkdir_p(File.dirname(path))
      File.open(path, File::RDWR | File::CREAT, 0o644) do |lock|
        unless lock.flock(File::LOCK_EX | File::LOCK_NB)
          timeout = config[:run_lock_timeout]
          output.say("Chef Infra Client #{lock.read.strip} is running, will wait for it to finish and then run.")
          deadline = timeout ? Process.clock_gettime(Process::CLOCK_MONOTONIC) + timeout : nil
          until lock.flock(File::LOCK_EX | File::LOCK_NB)
            if deadline && Process.clock_gettime(Process::CLOCK_MONOTONIC) > deadline
              raise Error, "Unable to acquire lock. Waited #{timeout} seconds for #{path} to be released."
            end

            sleep 0.2
          end
        end
        lock.truncate(0)
        lock.write(Process.pid.to_s)
        lock.flush
        yield
      end
    end
  end
end
