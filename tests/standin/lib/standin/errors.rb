# frozen_string_literal: true

module Standin
  # Anything that ends the run with a message chef-client would print.
  class Error < StandardError; end

  # Something Chef Infra Client supports that this stand-in does not: always an error.
  class NotImplemented < Error
    def initialize(what)
      super("#{what} is not implemented by the chef-client STAND-IN (tests/standin/README.md lists what is)")
    end
  end

  class ServerError < Error
    attr_reader :status, :payload, :response

    def initialize(status, payload, what, response = nil)
      @status = status
      @payload = payload
      @response = response
      super("#{what} returned #{status}: #{ServerError.text(payload)}")
    end

    def self.text(payload)
      errors = payload.is_a?(Hash) ? payload['error'] : nil
      return JSON.generate(payload)[0, 300] if errors.nil?

      Array(errors).map { |e| e.is_a?(String) ? e : (e['message'] || JSON.generate(e)) }.join('; ')
    end
  end
end

# Chef's own exception names, so error output and cookbook rescue clauses match Chef's.
module Chef
  module Exceptions
    class ValidationFailed < ArgumentError; end
    class ResourceNotFound < RuntimeError; end
    class ImmutableAttributeModification < NoMethodError; end
    class CookbookNotFound < RuntimeError; end
    class RecipeNotFound < ArgumentError; end
    class FileNotFound < RuntimeError; end
    class TemplateError < RuntimeError; end
    class Package < RuntimeError; end
    class Service < RuntimeError; end
    class RunLockTimeout < RuntimeError; end
    class UnifiedModeImmediateSubscriptionEarlierResource < RuntimeError; end
    class InvalidResourceReference < RuntimeError; end
    # lib/chef/exceptions.rb MultipleFailures: the run's error, then each failed delayed notification.
    class MultipleFailures < StandardError
      attr_reader :failures

      def initialize(failures, run_failed: true)
        @failures = failures
        lines = failures.each_with_index.map do |f, i|
          where = i.zero? && run_failed ? 'chef run' : 'delayed notification'
          "* #{f.class} occurred in #{where}: #{f.message.lines.first.to_s.chomp}"
        end
        super((['Multiple failures occurred:'] + lines).join("\n"))
      end
    end
  end
end
