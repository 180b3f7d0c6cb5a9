# frozen_string_literal: true

module Standin
  # Chef::RunContext: the resource collection of a recipe run (root) or of one
  # custom resource action (child), the notifications registered in it and the
  # delayed-notification queue that runs at the end of that context.
  class RunContext
    attr_reader :node, :parent, :resources, :delayed_actions, :updated_resources, :runner, :compiler, :depth,
                :unified_mode

    def initialize(node:, runner:, compiler:, cookbook_roots:, parent: nil, unified_mode: false)
      @node = node
      @runner = runner
      @compiler = compiler
      @cookbook_roots = cookbook_roots
      @parent = parent
      @unified_mode = unified_mode
      @depth = parent ? parent.depth + 1 : 0
      @resources = []
      @index = {}
      @immediate = Hash.new { |h, k| h[k] = [] }
      @delayed = Hash.new { |h, k| h[k] = [] }
      @pending_immediate = Hash.new { |h, k| h[k] = [] }
      @delayed_actions = []
      @updated_resources = []
    end

    def create_child(unified_mode)
      RunContext.new(node: @node, runner: @runner, compiler: @compiler, cookbook_roots: @cookbook_roots,
                     parent: self, unified_mode: unified_mode)
    end

    # Declaring a resource: register its notifications; in unified mode, run it now.
    def add(resource)
      @resources << resource
      resource.keys.each { |key| @index[key] = resource }
      resource.notifications_declared.each { |n| register(n) }
      resource.subscriptions_declared.each { |n| register_subscription(n, resource) }
      @runner.run_all_actions(resource) if @unified_mode
    end

    def lookup(key)
      @index[key] || @parent&.find(key) ||
        raise(Chef::Exceptions::ResourceNotFound, "Cannot find a resource matching #{key} (did you define it first?)")
    end

    def find(key)
      @index[key] || @parent&.find(key)
    end

    def immediate_notifications(resource)
      resource.keys.flat_map { |key| @immediate.fetch(key, []) }
    end

    def delayed_notifications(resource)
      resource.keys.flat_map { |key| @delayed.fetch(key, []) }
    end

    # Chef::RunContext#add_delayed_action: queued once per target and action.
    def add_delayed_action(notification)
      if @delayed_actions.any? { |queued| queued.duplicates?(notification) }
        @runner.output.info("#{notification.notifier_key} not queuing delayed action #{notification.action} on " \
                            "#{notification.target_key} (delayed), as it's already been queued")
        return
      end
      @delayed_actions << notification
    end

    # Unified mode: an immediate notification to a resource not declared yet
    # waits until that resource is declared.
    def defer_immediate(notification)
      @pending_immediate[notification.target_key] << notification
    end

    def take_pending_immediate(resource)
      mine = resource.keys.flat_map { |key| @pending_immediate.delete(key) || [] }
      mine + (@parent ? @parent.take_pending_immediate(resource) : [])
    end

    def mark_updated(resource)
      resource.keys.each { |key| @updated_resources << key unless @updated_resources.include?(key) }
    end

    # "deployer_x/recipes/default.rb" for a file in a cookbook, else nil.
    def relative_cookbook_path(file)
      return nil if file.nil?

      @cookbook_roots.each do |root|
        prefix = "#{root.chomp('/')}/"
        return file.delete_prefix(prefix) if file.start_with?(prefix)
      end
      nil
    end

    private

    def register(notification)
      if notification.timing == :immediately
        @immediate[notification.notifier_key] << notification
      else
        @delayed[notification.notifier_key] << notification
      end
    end

    # `subscribes` is a notification registered on the other resource's name.
    # In unified mode an immediate subscription to a resource that already ran
    # cannot fire any more (Chef raises); a delayed one to an updated resource is queued.
    def register_subscription(notification, subscriber)
      key = notification.notifier_key
      already = find(key)
      if @unified_mode && already
        if notification.timing == :immediately
          # Chef defines this error (lib/chef/exceptions.rb); such a subscription could never fire.
          raise Chef::Exceptions::UnifiedModeImmediateSubscriptionEarlierResource,
                "immediate subscription from #{subscriber} resource cannot be setup to #{key} resource, " \
                'which has already fired while in unified mode'
        elsif @updated_resources.include?(key)
          add_delayed_action(notification)
        end
      end
      register(notification)
    end
  end
end
