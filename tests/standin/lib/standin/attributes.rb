# frozen_string_literal: true

module Standin
  # A writable precedence level (node.default, node.normal, ...): string keys,
  # and reading a missing key creates an empty level below it, as Chef's
  # VividMash does, so `default['a']['b'] = 1` works in attribute files.
  class VividMash < Hash
    def initialize(data = {})
      super()
      data.each { |key, value| self[key] = value }
    end

    def [](key)
      key = key.to_s if key.is_a?(Symbol)
      return super if key?(key)

      store(key, VividMash.new)
    end

    def []=(key, value)
      store(key.is_a?(Symbol) ? key.to_s : key, Attributes.vivify(value))
    end

    def key?(key)
      super(key.is_a?(Symbol) ? key.to_s : key)
    end

    def dig(key, *rest)
      value = fetch(key.is_a?(Symbol) ? key.to_s : key, nil)
      rest.empty? || value.nil? ? value : value.dig(*rest)
    end

    def to_hash
      Attributes.plain(self)
    end
  end

  # Merged, read-only attribute values (node['x']): Chef's ImmutableMash.
  module ImmutableValue
    MESSAGE = 'Node attributes are read-only when you do not specify which precedence level to set. ' \
              'To set an attribute use code like `node.default["key"] = "value"`'

    %i([]= store delete clear merge! update replace << push concat map! select! reject! compact!
       delete_if keep_if unshift insert pop shift sort! uniq! flatten!).each do |name|
      define_method(name) { |*_args, &_block| raise Chef::Exceptions::ImmutableAttributeModification, MESSAGE }
    end
  end

  class ImmutableMash < Hash
    include ImmutableValue

    def [](key)
      super(key.is_a?(Symbol) ? key.to_s : key)
    end

    def key?(key)
      super(key.is_a?(Symbol) ? key.to_s : key)
    end
    alias has_key? key?
    alias include? key?

    def fetch(key, *args, &block)
      super(key.is_a?(Symbol) ? key.to_s : key, *args, &block)
    end

    def dig(key, *rest)
      value = self[key]
      rest.empty? || value.nil? ? value : value.dig(*rest)
    end

    def to_hash
      Attributes.plain(self)
    end
    alias to_h to_hash
    alias dup to_hash
  end

  class ImmutableArray < Array
    include ImmutableValue

    def to_a
      Attributes.plain(self)
    end
    alias dup to_a
  end

  # Chef::Node::Attribute: the precedence components and Chef's two merge rules.
  class Attributes
    DEFAULT_COMPONENTS = %i(default env_default role_default).freeze
    OVERRIDE_COMPONENTS = %i(override role_override env_override).freeze
    COMPONENTS = (DEFAULT_COMPONENTS + %i(normal) + OVERRIDE_COMPONENTS + %i(automatic)).freeze

    COMPONENTS.each do |name|
      define_method(name) { @components[name] }
      define_method("#{name}=") { |value| @components[name] = VividMash.new(value || {}) }
    end

    def initialize
      @components = COMPONENTS.to_h { |name| [name, VividMash.new] }
    end

    # node[key]: the components merged at that key, read-only.
    def [](key)
      key = key.to_s if key.is_a?(Symbol)
      Attributes.immutable(merged_at(key))
    end

    def key?(key)
      key = key.to_s if key.is_a?(Symbol)
      COMPONENTS.any? { |name| @components[name].key?(key) }
    end

    def keys
      COMPONENTS.flat_map { |name| @components[name].keys }.uniq
    end

    def to_hash
      keys.to_h { |key| [key, Attributes.plain(merged_at(key))] }
    end

    def combined_default
      Attributes.plain(DEFAULT_COMPONENTS.map { |n| @components[n] }.reduce(nil) { |a, b| Attributes.deep_merge_arrays(a, b) })
    end

    def combined_override
      Attributes.plain(OVERRIDE_COMPONENTS.map { |n| @components[n] }.reduce(nil) { |a, b| Attributes.deep_merge_arrays(a, b) })
    end

    private

    # Chef::Node::Attribute#merged_attributes: defaults merged among themselves
    # with array union, the same for overrides, then default < normal <
    # override < automatic with hash-only merging (arrays replaced).
    def merged_at(key)
      pick = ->(name) { @components[name].fetch(key, nil) }
      defaults = DEFAULT_COMPONENTS.map(&pick).reduce(nil) { |a, b| Attributes.deep_merge_arrays(a, b) }
      overrides = OVERRIDE_COMPONENTS.map(&pick).reduce(nil) { |a, b| Attributes.deep_merge_arrays(a, b) }
      [defaults, pick.call(:normal), overrides, pick.call(:automatic)].reduce(nil) { |a, b| Attributes.hash_only_merge(a, b) }
    end

    class << self
      # Chef::Node::Attribute#deep_merge! (within the default or override components).
      def deep_merge_arrays(onto, with)
        if onto.is_a?(Hash) && with.is_a?(Hash)
          result = plain(onto)
          with.each { |k, v| result[k] = result.key?(k) ? deep_merge_arrays(result[k], v) : plain(v) }
          result
        elsif onto.is_a?(Array) && with.is_a?(Array)
          plain(onto) | plain(with)
        elsif with.nil?
          plain(onto)
        else
          plain(with)
        end
      end

      # Chef::Node::Attribute#hash_only_merge! (between precedence levels).
      def hash_only_merge(onto, with)
        if onto.is_a?(Hash) && with.is_a?(Hash)
          result = plain(onto)
          with.each { |k, v| result[k] = result.key?(k) ? hash_only_merge(result[k], v) : plain(v) }
          result
        elsif with.nil?
          plain(onto)
        else
          plain(with)
        end
      end

      def plain(value)
        case value
        when Hash then value.each_with_object({}) { |(k, v), h| h[k.is_a?(Symbol) ? k.to_s : k] = plain(v) }
        when Array then value.map { |v| plain(v) }
        else value
        end
      end

      def vivify(value)
        case value
        when VividMash then value
        when Hash then VividMash.new(value)
        when Array then value.map { |v| v.is_a?(Hash) ? VividMash.new(v) : v }
        else value
        end
      end

      def immutable(value)
        case value
        when Hash
          ImmutableMash.new.tap do |m|
            value.each { |k, v| m.send(:__store, k, immutable(v)) }
          end.freeze
        when Array then ImmutableArray.new(value.map { |v| immutable(v) }).freeze
        when String then value.frozen? ? value : value.dup.freeze
        else value
        end
      end
    end
  end

  class ImmutableMash
    # `store` is blocked by ImmutableValue; building uses the original Hash#store.
    define_method(:__store, Hash.instance_method(:store))
    private :__store
  end
end
