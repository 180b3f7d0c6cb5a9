# frozen_string_literal: true

module Standin
  module Resources
    # log: writes its message to the log at its level.  Chef 18's default
    # count_log_resource_updates is false, so it never counts as updated.
    class Log < Resource
      provides :log
      allowed_actions :write
      default_action :write

      property :message, String, name_property: true
      property :level, Symbol, equal_to: %i(trace debug info warn error fatal), default: :info

      def action_write
        run_context.runner.output.log(level, message)
      end
    end
  end
end
