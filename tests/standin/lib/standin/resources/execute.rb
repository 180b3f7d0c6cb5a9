# frozen_string_literal: true

module Standin
  module Resources
    # execute: a String command runs through /bin/sh, an Array runs without a
    # shell; input on stdin, environment merged into Chef's default one, user,
    # cwd, returns, timeout (default 3600 s), creates.
    class Execute < Resource
      provides :execute
      allowed_actions :run
      default_action :run

      property :command, [String, Array], name_property: true
      property :cwd, String
      property :environment, Hash
      property :user, [String, Integer]
      property :group, [String, Integer]
      property :input, String
      property :returns, [Integer, Array], default: 0
      property :timeout, [Integer, Float], default: 3600
      property :creates, String
      property :umask, [String, Integer]
      property :live_stream, [true, false], default: false
      property :login, [true, false], default: false
      property :default_env, [true, false], default: true
      property :domain, String
      property :password, String, sensitive: true
      property :elevated, [true, false], default: false

      def after_created
        %i(domain password).each { |p| raise NotImplemented, "execute property #{p}" unless public_send(p).nil? }
        raise NotImplemented, 'execute login true' if login
        raise NotImplemented, 'execute elevated' if elevated
      end

      alias env environment

      def action_run
        return if creates && ::File.exist?(creates)

        shown = sensitive ? 'sensitive resource' : (command.is_a?(Array) ? command.inspect : command)
        converge_by("execute #{shown}") do
          options = { returns: returns, timeout: timeout, environment: environment || {},
                      default_env: default_env }
          options[:cwd] = cwd if cwd
          options[:user] = user if user
          options[:group] = group if group
          options[:input] = input if input
          options[:umask] = umask if umask
          options[:live_stream] = run_context.runner.output if live_stream && !sensitive
          result = Shell.run([command], options)
          check(result)
        end
      end

      private

      def check(result)
        result.error!
      rescue Mixlib::ShellOut::ShellCommandFailed
        raise unless sensitive

        raise Mixlib::ShellOut::ShellCommandFailed,
              "Expected process to exit with #{Array(returns).inspect}, but received '#{result.exitstatus}'\n" \
              'Command execution failed. STDOUT/STDERR suppressed for sensitive resource'
      end
    end
  end
end
