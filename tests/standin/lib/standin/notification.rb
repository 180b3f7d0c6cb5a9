# frozen_string_literal: true

module Standin
  # One notification: when `notifier` is updated, run `action` on `target`
  # (a resource or a "type[name]" reference resolved when needed).
  class Notification
    TIMINGS = { delayed: :delayed, immediately: :immediately, immediate: :immediately }.freeze
    REFERENCE = /\A([^\[\]\s]+)\[(.+)\]\z/m.freeze

    attr_reader :action, :timing, :notifier
    attr_accessor :target

    def self.timing(value)
      return TIMINGS[value.to_sym] if TIMINGS.key?(value.to_sym)
      raise NotImplemented, 'the :before notification timing' if value.to_sym == :before

      raise ArgumentError, "#{value.inspect} is not a valid notification timing (use :delayed or :immediately)"
    end

    def self.key_of(reference)
      return reference.to_s if reference.is_a?(Resource)

      text = reference.to_s
      raise Chef::Exceptions::InvalidResourceReference, "#{text.inspect} is not a resource reference like \"type[name]\"" unless REFERENCE.match?(text)

      text
    end

    def initialize(notifier, action, target, timing)
      @notifier = notifier
      @action = action.to_sym
      @target = target
      @timing = timing
    end

    def target_key
      Notification.key_of(@target)
    end

    def notifier_key
      @notifier.is_a?(Resource) ? @notifier.to_s : @notifier.to_s
    end

    # Chef::Resource::Notification#duplicates?: same target and action.
    def duplicates?(other)
      other.action == @action && other.target_key == target_key
    end

    def resolve(context)
      return @target if @target.is_a?(Resource)

      @target = context.lookup(target_key)
    end
  end
end
