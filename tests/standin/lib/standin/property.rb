# frozen_string_literal: true

module Standin
  # lazy { ... }: a value computed when the property is read.
  class DelayedEvaluator < Proc; end

  # A resource property (Chef::Property): types, name_property, required
  # (true or a list of actions), literal or lazy defaults, coerce, regex,
  # equal_to, callbacks, sensitive; validated like Chef::Mixin::ParamsValidate.
  class Property
    OPTIONS = %i(default name_property name_attribute required regex equal_to callbacks sensitive description
                 coerce kind_of is desired_state identity introduced deprecated default_description skip_docs
                 validation_message).freeze
    NOT_SET = Object.new.freeze

    attr_reader :name, :options

    def initialize(name, types, options)
      unknown = options.keys - OPTIONS
      raise ArgumentError, "property :#{name}: unknown option(s) #{unknown.map(&:inspect).join(', ')}" unless unknown.empty?
      raise NotImplemented, "property :#{name} option deprecated:" if options[:deprecated]
      if name_property?(options) && options.key?(:default)
        raise ArgumentError, "A property cannot be both a name_property/name_attribute and have a default value. " \
                             "Use one or the other on property #{name}"
      end

      @name = name.to_sym
      @types = types.flatten + Array(options[:kind_of]) + Array(options[:is])
      @options = options
    end

    def name_property?(options = @options)
      options[:name_property] || options[:name_attribute]
    end

    def sensitive?
      @options[:sensitive] ? true : false
    end

    def identity?
      @options[:identity] ? true : false
    end

    def required_for?(action)
      required = @options[:required]
      required.is_a?(Array) ? required.map(&:to_sym).include?(action.to_sym) : required == true
    end

    def set?(resource)
      resource.property_values.key?(@name)
    end

    def get(resource)
      if set?(resource)
        value = resource.property_values[@name]
        return value unless value.is_a?(DelayedEvaluator)

        return validate(resource, coerce(resource, exec_lazy(resource, value)))
      end
      return resource.name if name_property? && @name != :name
      return nil unless @options.key?(:default)

      default = @options[:default]
      if default.is_a?(DelayedEvaluator)
        validate(resource, coerce(resource, exec_lazy(resource, default)))
      else
        # Chef freezes non-lazy defaults so that no resource mutates a shared value.
        default.nil? || default.frozen? ? default : default.dup.freeze
      end
    end

    def set(resource, value)
      resource.property_values[@name] = value.is_a?(DelayedEvaluator) ? value : validate(resource, coerce(resource, value))
    end

    # How the failure report shows the value: never a sensitive one, and a lazy
    # value is not evaluated (it may read secrets or have side effects).
    def display(resource)
      return '*sensitive value suppressed*' if sensitive? || (resource.sensitive && @name != :name)

      raw = set?(resource) ? resource.property_values[@name] : @options[:default]
      return 'lazy { ... }' if raw.is_a?(DelayedEvaluator)

      get(resource).inspect
    rescue StandardError => e
      "(error reading it: #{e.message})"
    end

    private

    def exec_lazy(resource, block)
      block.arity.positive? ? block.call(resource) : resource.instance_exec(&block)
    end

    def coerce(resource, value)
      @options[:coerce] ? resource.instance_exec(value, &@options[:coerce]) : value
    end

    def validate(resource, value)
      shown = sensitive? ? '*sensitive value suppressed*' : value.inspect
      unless @types.empty? || @types.any? { |type| matches?(type, value) }
        fail_validation("Property #{@name} must be one of: #{@types.map(&:inspect).join(', ')}!  You passed #{shown}.")
      end
      return value if value.nil?

      if @options.key?(:equal_to) && !Array(@options[:equal_to]).include?(value)
        fail_validation("Option #{@name} must be equal to one of: #{Array(@options[:equal_to]).map(&:inspect).join(', ')}!  You passed #{shown}.")
      end
      if @options[:regex]
        regexes = Array(@options[:regex])
        unless value.is_a?(String) && regexes.any? { |r| r.match?(value) }
          fail_validation("Property #{@name}'s value #{shown} does not match regular expression #{regexes.map(&:inspect).join(' or ')}")
        end
      end
      (@options[:callbacks] || {}).each do |description, check|
        next if check.arity == 2 ? check.call(value, resource) : check.call(value)

        fail_validation("Property #{@name}'s value #{shown} #{description}!")
      end
      value
    end

    def matches?(type, value)
      case type
      when Class, Module then value.is_a?(type)
      when Regexp then value.is_a?(String) && type.match?(value)
      when Proc then type.call(value)
      else type == value
      end
    end

    def fail_validation(message)
      raise Chef::Exceptions::ValidationFailed, (@options[:validation_message] || message)
    end
  end
end
