# frozen_string_literal: true

module Standin
  # Chef::Node: name, environment, run-list and the precedence levels.
  # Attribute files are evaluated on the node itself (Chef's node.from_file).
  class Node
    attr_reader :name, :attributes
    attr_accessor :chef_environment, :run_list, :include_attribute_hook

    def initialize(name)
      @name = name
      @chef_environment = '_default'
      @run_list = []
      @attributes = Attributes.new
    end

    # The server's node document -> a node (normal attributes persist; the rest is rebuilt each run).
    def self.from_hash(data)
      new(data.fetch('name')).tap do |node|
        node.chef_environment = data['chef_environment'] || '_default'
        node.run_list = Array(data['run_list'])
        node.attributes.normal = data['normal'] || {}
      end
    end

    def name(value = nil)
      raise NotImplemented, 'renaming the node from a cookbook' unless value.nil?

      @name
    end

    def node
      self
    end

    # node.run_state: a scratch Hash for the run, never saved.
    def run_state
      @run_state ||= {}
    end

    Attributes::COMPONENTS.each do |level|
      define_method(level) { @attributes.public_send(level) }
    end

    %i(force_default force_override default_unless normal_unless override_unless set set_unless tag tags
       rm rm_default rm_normal rm_override).each do |unsupported|
      define_method(unsupported) { |*_args| raise NotImplemented, "node.#{unsupported}" }
    end

    def [](key)
      @attributes[key]
    end

    def []=(_key, _value)
      raise Chef::Exceptions::ImmutableAttributeModification, ImmutableValue::MESSAGE
    end

    def key?(key)
      @attributes.key?(key)
    end
    alias attribute? key?
    alias has_key? key?

    def dig(key, *rest)
      value = self[key]
      rest.empty? || value.nil? ? value : value.dig(*rest)
    end

    def read(*path)
      dig(*path)
    rescue NoMethodError, TypeError
      nil
    end
    alias exist? read

    def fetch(key, *args, &block)
      return self[key] if key?(key)
      return block.call(key) if block
      return args.first unless args.empty?

      raise KeyError, "key not found: #{key.inspect}"
    end

    def keys
      @attributes.keys
    end

    def include_attribute(*specs)
      raise Error, 'include_attribute outside an attribute file' unless include_attribute_hook

      specs.each { |spec| include_attribute_hook.call(spec) }
    end

    def platform?(*names)
      names.flatten.map(&:to_s).include?(self['platform'].to_s)
    end

    def platform_family?(*names)
      names.flatten.map(&:to_s).include?(self['platform_family'].to_s)
    end

    def recipe?(name)
      Array(self['recipes']).include?(name) || run_list.include?("recipe[#{name}]")
    end

    def role?(name)
      Array(self['roles']).include?(name)
    end

    # Chef::Node#to_hash: merged attributes plus the node's identity.
    def to_hash
      @attributes.to_hash.merge(
        'chef_type' => 'node', 'name' => @name, 'chef_environment' => @chef_environment,
        'run_list' => @run_list.dup,
        'recipe' => @run_list.filter_map { |i| i[/\Arecipe\[(.+)\]\z/, 1] },
        'role' => @run_list.filter_map { |i| i[/\Arole\[(.+)\]\z/, 1] }
      )
    end

    # The document saved to the server at the end of a successful run.
    def for_json
      { 'name' => @name, 'json_class' => 'Chef::Node', 'chef_type' => 'node',
        'chef_environment' => @chef_environment, 'run_list' => @run_list,
        'default' => @attributes.combined_default, 'normal' => Attributes.plain(normal),
        'override' => @attributes.combined_override, 'automatic' => Attributes.plain(automatic) }
    end

    def to_s
      "node[#{@name}]"
    end

    def method_missing(name, *args, &block)
      raise NoMethodError, "undefined method `#{name}' for #{self} (node attributes are read with node['#{name}'])"
    end

    def respond_to_missing?(_name, _private = false)
      false
    end
  end
end
