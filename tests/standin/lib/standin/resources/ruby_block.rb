# frozen_string_literal: true

module Standin
  module Resources
    # ruby_block: Ruby code run at converge time.
    class RubyBlock < Resource
      provides :ruby_block
      allowed_actions :run, :create
      default_action :run

      property :block_name, String, name_property: true

      def block(&code)
        return @block if code.nil?

        @block = code
      end

      def action_run
        raise Chef::Exceptions::ValidationFailed, "#{self} has no block" unless @block

        converge_by("execute the ruby block #{block_name}") { @block.call }
      end
      alias action_create action_run
    end
  end
end
