# frozen_string_literal: true

module Standin
  # only_if / not_if (Chef::Resource::Conditional): a String runs through the
  # shell and passes on exit status 0 (options such as user:, cwd:,
  # environment:, timeout: go to shell_out); a block passes when truthy.
  class Guard
    COMMAND_OPTIONS = %i(user group cwd environment env timeout umask input returns default_env).freeze

    attr_reader :kind, :command

    def initialize(kind, command, options, block)
      raise ArgumentError, "#{kind} takes either a command or a block, not both" if command && block
      raise ArgumentError, "#{kind} needs a command (String) or a block" unless command || block
      raise ArgumentError, "#{kind} command must be a String, got #{command.class}" if command && !command.is_a?(String)

      unknown = options.keys - COMMAND_OPTIONS
      raise NotImplemented, "#{kind} option(s) #{unknown.join(', ')}" unless unknown.empty?

      @kind = kind
      @command = command
      @options = options
      @block = block
    end

    # True when the guard lets the action run.
    def allows?
      result = @command ? Shell.run([@command], @options).exitstatus.zero? : (@block.call ? true : false)
      @kind == :only_if ? result : !result
    end

    def description
      @command ? "#{@kind} #{@command.inspect}" : "#{@kind} { #code block }"
    end
  end
end
