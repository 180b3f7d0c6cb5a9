# frozen_string_literal: true

require 'mixlib/shellout'

module Standin
  # Chef::Mixin::ShellOut: shell_out / shell_out! through mixlib-shellout, with
  # Chef's defaults (LC_ALL=C and a default PATH; a String runs in /bin/sh, an
  # Array runs without a shell).
  module Shell
    DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
    OPTIONS = %i(cwd user group umask timeout returns input environment env live_stream login
                 default_env log_level log_tag sensitive).freeze

    def shell_out(*command, **options)
      Shell.run(command, options)
    end

    def shell_out!(*command, **options)
      Shell.run(command, options).tap(&:error!)
    end

    def self.run(command, options)
      unknown = options.keys - OPTIONS
      raise ArgumentError, "shell_out: unknown option(s) #{unknown.join(', ')}" unless unknown.empty?

      options = options.dup
      env = (options.delete(:env) || {}).merge(options.delete(:environment) || {})
      unless options.delete(:default_env) == false
        env = { 'LC_ALL' => 'C', 'LANGUAGE' => 'C', 'LANG' => 'C', 'PATH' => ENV['PATH'] || DEFAULT_PATH }.merge(env)
      end
      options.delete(:sensitive)
      options.delete(:log_level)
      options.delete(:log_tag)
      options[:environment] = env
      options[:timeout] ||= 3600
      args = command.size == 1 && command.first.is_a?(Array) ? command.first : command
      cmd = Mixlib::ShellOut.new(*args, **options)
      cmd.run_command
      cmd
    end
  end
end
