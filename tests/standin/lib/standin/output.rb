# frozen_string_literal: true

require 'time'

module Standin
  # Two streams, as chef-client has them: the doc formatter (resource lines,
  # always shown) and the log ([time] LEVEL: message, filtered by -l).  Both go
  # to stdout and, when -L or client.rb's log_location names a file, to it too.
  class Output
    LEVELS = { trace: 0, debug: 1, info: 2, warn: 3, error: 4, fatal: 5 }.freeze

    attr_reader :level

    def initialize(level: :auto, log_file: nil, io: $stdout)
      @io = io
      @level = resolve_level(level)
      @file = nil
      return unless log_file && !%w(STDOUT STDERR).include?(log_file.to_s)

      FileUtils.mkdir_p(File.dirname(log_file))
      @file = File.open(log_file, 'a')
      @file.sync = true
    rescue SystemCallError => e
      log(:warn, "cannot open log file #{log_file}: #{e.message}")
    end

    # chef-client's :auto is :warn under the formatter on a terminal, :info otherwise.
    def resolve_level(level)
      level = level.to_sym
      level = (@io.tty? ? :warn : :info) if level == :auto
      raise Error, "invalid log level #{level} (one of #{LEVELS.keys.join(', ')}, auto)" unless LEVELS.key?(level)

      level
    end

    def log?(level)
      LEVELS.fetch(level) >= LEVELS.fetch(@level)
    end

    def log(level, message)
      return unless log?(level)

      stamp = Time.now.utc.iso8601
      message.to_s.each_line { |line| emit("[#{stamp}] #{level.to_s.upcase}: #{line.chomp}") }
    end

    %i(trace debug info warn error fatal).each do |lvl|
      define_method(lvl) { |message| log(lvl, message) }
    end

    # Formatter text: shown whatever the log level.
    def say(text = '')
      emit(text)
    end

    def emit(line)
      @io.puts(line)
      @io.flush
      @file&.puts(line)
    end

    def close
      @file&.close
    end
  end
end
