# frozen_string_literal: true

module Standin
  # Chef::Resource: class-level DSL (provides, properties, actions, unified
  # mode) and the common properties every resource has (action, guards,
  # notifications, retries, ignore_failure, sensitive).
  class Resource
    class << self
      # name (Symbol) -> resource class, for every `provides`.
      def registry
        @@registry ||= {} # rubocop:disable Style/ClassVars
      end

      def provides(name, **options)
        raise NotImplemented, "provides #{name.inspect} with #{options.keys.join(', ')}" unless options.empty?

        @resource_name ||= name.to_sym
        Resource.registry[name.to_sym] = self
      end

      def resource_name(name = nil)
        return @resource_name if name.nil?

        @resource_name = name.to_sym
        Resource.registry[name.to_sym] ||= self
      end

      def unified_mode(flag = nil)
        @unified_mode = flag unless flag.nil?
        @unified_mode.nil? ? (superclass.respond_to?(:unified_mode) ? superclass.unified_mode : false) : @unified_mode
      end

      def description(text = nil)
        @description = text unless text.nil?
        @description
      end

      %i(introduced examples skip_docs preview_resource).each { |doc| define_method(doc) { |*_args| nil } }

      def properties
        inherited = superclass.respond_to?(:properties) ? superclass.properties : {}
        inherited.merge(@properties || {})
      end

      def property(name, *types, **options)
        name = name.to_sym
        if Resource.instance_methods.include?(name) && !Resource.properties_defined_by_base.include?(name) && self != Resource
          raise ArgumentError, "Property `#{name}` of resource `#{resource_name}` overwrites an existing method of Chef::Resource"
        end

        prop = Property.new(name, types, options)
        (@properties ||= {})[name] = prop
        define_method(name) do |value = Property::NOT_SET|
          value.equal?(Property::NOT_SET) ? prop.get(self) : prop.set(self, value)
        end
        define_method("#{name}=") { |value| prop.set(self, value) }
        prop
      end
      alias attribute property

      def properties_defined_by_base
        %i(name ignore_failure retries retry_delay sensitive)
      end

      # Built-in resources list their actions; custom resources add them with `action`.
      def allowed_actions(*names)
        @allowed_actions = (allowed_actions_list + names.flatten.map(&:to_sym)).uniq unless names.empty?
        allowed_actions_list
      end
      alias actions allowed_actions

      def allowed_actions_list
        inherited = superclass.respond_to?(:allowed_actions_list) ? superclass.allowed_actions_list : [:nothing]
        (inherited + (@allowed_actions || [])).uniq
      end

      def default_action(name = nil)
        @default_action = Array(name).map(&:to_sym) unless name.nil?
        @default_action || (superclass.respond_to?(:default_action) ? superclass.default_action : [:nothing])
      end

      def lazy(&block)
        DelayedEvaluator.new(&block)
      end

      def load_current_value(&_block)
        raise NotImplemented, 'load_current_value in a custom resource'
      end

      def declared_type
        resource_name
      end
    end

    property :name, String, desired_state: false, identity: true
    property :ignore_failure, [true, false, :quiet], default: false, desired_state: false
    property :retries, Integer, default: 0, desired_state: false
    property :retry_delay, Integer, default: 2, desired_state: false
    property :sensitive, [true, false], default: false, desired_state: false

    attr_reader :property_values, :run_context, :guards, :notifications_declared, :subscriptions_declared
    attr_accessor :declared_type, :source_line, :cookbook_name, :recipe_name, :enclosing_provider, :updated, :declared_in_recipe,
                  :elapsed

    def initialize(name, run_context)
      @property_values = {}
      @run_context = run_context
      @guards = []
      @notifications_declared = []
      @subscriptions_declared = []
      @updated = false
      @updated_by_last_action = false
      @action = nil
      raise ArgumentError, "#{self.class.resource_name} needs a name" if name.nil?

      self.name(name.is_a?(Array) ? name.join(', ') : name.to_s)
    end

    def to_s
      "#{self.class.resource_name}[#{name}]"
    end
    alias declared_key to_s

    # Names a notification may use: the resource's own and the one it was declared with (package[x]).
    def keys
      [to_s, "#{declared_type || self.class.resource_name}[#{name}]"].uniq
    end

    def inspect
      "#<#{self}>"
    end

    def node
      run_context.node
    end

    def action(value = Property::NOT_SET)
      return (@action || self.class.default_action) if value.equal?(Property::NOT_SET)

      actions = Array(value).map { |a| a.to_s.to_sym }
      actions.each do |a|
        next if self.class.allowed_actions.include?(a)

        raise Chef::Exceptions::ValidationFailed,
              "Option action must be equal to one of: #{self.class.allowed_actions.join(', ')}!  You passed #{a.inspect}."
      end
      @action = actions
    end

    def only_if(command = nil, options = {}, &block)
      @guards << Guard.new(:only_if, command, options, block)
    end

    def not_if(command = nil, options = {}, &block)
      @guards << Guard.new(:not_if, command, options, block)
    end

    def guard_interpreter(value = nil)
      return :default if value.nil? || value == :default

      raise NotImplemented, "guard_interpreter #{value.inspect}"
    end

    %i(provider compile_time default_guard_interpreter before).each do |unsupported|
      define_method(unsupported) { |*_args| raise NotImplemented, "the `#{unsupported}' resource property" }
    end

    def notifies(action, target, timing = :delayed)
      timing = Notification.timing(timing)
      Notification.key_of(target) # a malformed reference is an error where it is written
      @notifications_declared << Notification.new(self, action, target, timing)
    end

    def subscribes(action, targets, timing = :delayed)
      timing = Notification.timing(timing)
      Array(targets).each do |target|
        Notification.key_of(target)
        @subscriptions_declared << Notification.new(target, action, self, timing)
      end
    end

    def lazy(&block)
      DelayedEvaluator.new(&block)
    end

    # Chef::DSL::Universal: available in resource blocks too.
    include UniversalDSL

    def updated_by_last_action(flag)
      @updated_by_last_action = flag
      @updated ||= flag
    end

    def updated_by_last_action?
      @updated_by_last_action
    end

    def updated?
      @updated
    end

    # Chef's "cookbook::recipe line N" for a resource declared in a recipe; for one
    # declared elsewhere (a custom resource's action) the cookbook file and line.
    def defined_at
      file, line = source_line.to_s.split(/:(?=\d+\z)/)
      rel = run_context&.relative_cookbook_path(file)
      if declared_in_recipe && rel
        "#{cookbook_name}::#{recipe_name} line #{line}"
      elsif rel
        "#{rel} line #{line}"
      else
        source_line.to_s
      end
    end

    # Called by the runner, with `converge_by` recording what changed.
    def run_builtin_action(action)
      method = "action_#{action}"
      raise NotImplemented, "action :#{action} of #{self.class.resource_name}" unless respond_to?(method, true)

      send(method)
    end

    # Chef::Mixin::WhyRun: the change runs unless this is a why-run, where it is only described.
    def converge_by(descriptions, &block)
      run_context.runner.converge_by(self, descriptions, &block)
    end

    def after_created; end

    def validate_required!(action)
      self.class.properties.each_value do |prop|
        next unless prop.required_for?(action)
        next if prop.set?(self) || prop.options.key?(:default) || prop.name_property?

        raise Chef::Exceptions::ValidationFailed, "#{prop.name} is a required property"
      end
    end

    # Chef forwards unknown methods in a resource block to the enclosing
    # provider (the custom resource action that declared it).
    def method_missing(name, *args, &block)
      return enclosing_provider.public_send(name, *args, &block) if enclosing_provider.respond_to?(name)

      raise NoMethodError, "No resource property or method named `#{name}' for #{self}" \
                           "#{source_line ? " (declared at #{source_line})" : ''}"
    end

    def respond_to_missing?(name, include_private = false)
      enclosing_provider.respond_to?(name) || super
    end

    def to_text
      lines = ["#{self.class.resource_name}(#{name.inspect}) do"]
      lines << "  action #{action.inspect}"
      self.class.properties.each_value do |prop|
        next unless prop.set?(self) || prop.options.key?(:default)

        lines << "  #{prop.name} #{prop.display(self)}"
      end
      (lines << 'end').join("\n")
    end
  end
end
