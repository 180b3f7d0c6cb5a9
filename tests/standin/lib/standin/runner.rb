# frozen_string_literal: true

module Standin
  # Chef::Runner: converges a run context's resources, runs notifications, and
  # flushes the delayed queue at the end of the context, also when the converge
  # failed (before the error is raised again).
  class Runner
    attr_reader :output, :formatter, :why_run

    def initialize(output, formatter, why_run:)
      @output = output
      @formatter = formatter
      @why_run = why_run
      @changes = nil
    end

    # Recipes compile first; then this converges the whole collection.
    # Unified-mode contexts have already run each resource as it was declared.
    def converge(context)
      validate_notifications(context) unless context.unified_mode
      begin
        index = 0
        while index < context.resources.size
          run_all_actions(context.resources[index]) unless context.unified_mode
          index += 1
        end
      rescue Exception => e # rubocop:disable Lint/RescueException -- Chef flushes on any error
        @output.info('Running queued delayed notifications before re-raising exception') if context.delayed_actions.any?
        run_delayed(context, e)
      end
      run_delayed(context, nil)
    end

    def run_all_actions(resource)
      Array(resource.action).each { |action| run_action(resource, action) }
      return unless resource.run_context.unified_mode

      resource.run_context.take_pending_immediate(resource).each do |notification|
        notification.target = resource
        run_action(resource, notification.action)
      end
    end

    def run_action(resource, action)
      context = resource.run_context
      @formatter.resource_started(resource)
      resource.updated_by_last_action(false)
      if action == :nothing
        @formatter.line(context.depth, "* #{resource} action nothing (skipped due to action :nothing)")
        return
      end
      return if skipped?(resource, action)

      perform_with_retries(resource, action)
      after_action(resource)
    end

    # converge_by: the block runs (or, in why-run, is only described) and the resource is updated.
    # A description is a line, or an Array of detail lines (a diff) that Chef prints below the
    # line before it as they are: "Would " goes before the lines only (Chef's doc formatter).
    def converge_by(resource, descriptions, &block)
      lines = Array(descriptions).compact.flat_map do |d|
        d.is_a?(Array) ? [d.map(&:to_s)] : d.to_s.lines.map(&:chomp)
      end
      block&.call unless @why_run
      lines = lines.map { |l| l.is_a?(Array) ? l : "Would #{l}" } if @why_run
      (@changes || []).concat(lines)
      @formatter.changes(resource.run_context.depth, lines) unless @changes
      resource.updated_by_last_action(true)
    end

    # A custom resource action: a child context; in unified mode each inner
    # resource runs as it is declared; delayed notifications run at its end.
    def run_custom_action(resource, _action, block)
      child = resource.run_context.create_child(resource.class.unified_mode)
      provider = resource.class.action_class.new(resource, child)
      saved = @changes
      @changes = nil
      begin
        provider.instance_exec(&block)
        converge(child)
      ensure
        @changes = saved
        resource.updated_by_last_action(true) if child.resources.any?(&:updated?)
      end
    end

    private

    # Required properties, then the guards; an error in either names the resource.
    def skipped?(resource, action)
      resource.validate_required!(action)
      guard = resource.guards.find { |g| !g.allows? }
      return false unless guard

      @formatter.line(resource.run_context.depth, "* #{resource} action #{action} (skipped due to #{guard.kind})")
      @output.debug("#{resource} skipped: #{guard.description}")
      true
    rescue StandardError, ScriptError => e
      @formatter.line(resource.run_context.depth, "* #{resource} action #{action}")
      raise annotate(e, resource, action)
    end

    def perform_with_retries(resource, action)
      attempts_left = resource.retries
      custom = resource.is_a?(CustomResource)
      begin
        @changes = custom ? nil : []
        @formatter.line(resource.run_context.depth, "* #{resource} action #{action}") if custom
        resource.run_builtin_action(action)
        report_result(resource, action, custom)
      rescue StandardError, ScriptError => e
        changes = @changes
        @changes = nil
        if attempts_left.positive?
          @output.warn("Retrying execution of #{resource}, #{attempts_left} attempt(s) left")
          attempts_left -= 1
          sleep(resource.retry_delay)
          retry
        end
        @formatter.line(resource.run_context.depth, "* #{resource} action #{action}") unless custom
        @formatter.changes(resource.run_context.depth, changes) if changes&.any?
        if resource.ignore_failure
          @formatter.ignored_failure(resource, action, e) unless resource.ignore_failure == :quiet
          return
        end
        raise annotate(e, resource, action)
      ensure
        @changes = nil
      end
    end

    def report_result(resource, action, custom)
      depth = resource.run_context.depth
      if custom
        @formatter.line(depth + 1, ' (up to date)') unless resource.updated_by_last_action?
      elsif @changes.empty?
        @formatter.line(depth, "* #{resource} action #{action} (up to date)")
      else
        @formatter.line(depth, "* #{resource} action #{action}")
        @formatter.changes(depth, @changes)
      end
    end

    # Chef::Resource#run_action's rescue: same exception class, message naming
    # the resource and where it was declared; the innermost failure is kept for the report.
    def annotate(error, resource, action)
      first = !error.instance_variable_defined?(:@standin_failure)
      @formatter.resource_failed(resource, action, error, detailed: first)
      wrapped = error.exception("#{resource} (#{resource.defined_at}) had an error: #{error.class.name}: #{error.message}")
      wrapped.instance_variable_set(:@standin_failure, [resource, action, error]) if first
      wrapped
    end

    def after_action(resource)
      return unless resource.updated_by_last_action?

      context = resource.run_context
      @formatter.resource_updated(resource)
      context.mark_updated(resource)
      context.immediate_notifications(resource).each do |notification|
        target = begin
          notification.resolve(context)
        rescue Chef::Exceptions::ResourceNotFound
          raise unless context.unified_mode

          nil
        end
        if target.nil?
          @output.info("#{resource} will notify #{notification.target_key} (immediate) when it is declared")
          context.defer_immediate(notification)
          next
        end
        @output.info("#{resource} sending #{notification.action} action to #{target} (immediate)")
        run_action(target, notification.action)
      end
      # Chef queues a delayed notification in the run context of the resource it
      # notifies (a root resource notified from inside an action runs at the end of
      # the run); a target not declared yet (unified mode) queues in this context.
      context.delayed_notifications(resource).each do |notification|
        target = context.find(notification.target_key)
        notification.target = target if target
        (target ? target.run_context : context).add_delayed_action(notification)
      end
    end

    def run_delayed(context, error)
      failures = error ? [error] : []
      index = 0
      while index < context.delayed_actions.size
        notification = context.delayed_actions[index]
        index += 1
        begin
          target = notification.resolve(context)
          @output.info("#{notification.notifier_key} sending #{notification.action} action to #{target} (delayed)")
          run_action(target, notification.action)
        rescue StandardError, ScriptError => e
          failures << e
        end
      end
      return if failures.empty?
      raise failures.first if failures.size == 1

      raise Chef::Exceptions::MultipleFailures.new(failures, run_failed: !error.nil?)
    end

    # Chef resolves every `notifies` target before converging a recipe
    # collection: a target that was never declared is an error there.
    def validate_notifications(context)
      context.resources.each do |resource|
        resource.notifications_declared.each do |notification|
          notification.resolve(context)
        rescue Chef::Exceptions::ResourceNotFound
          raise Chef::Exceptions::ResourceNotFound,
                "resource #{resource} is configured to notify resource #{notification.target_key} with action " \
                "#{notification.action}, but #{notification.target_key} cannot be found in the resource collection. " \
                "#{resource} is defined in #{resource.source_line}"
        end
      end
    end
  end
end
