# frozen_string_literal: true

module Standin
  # What an action block of a custom resource runs in (Chef's action_class, a
  # provider): new_resource, node, the recipe DSL, and the helpers defined in
  # `action_class do ... end`.  Properties are not forwarded: use new_resource.x.
  class ActionClass
    include RecipeDSL

    attr_reader :new_resource, :run_context

    def initialize(new_resource, run_context)
      @new_resource = new_resource
      @run_context = run_context
    end

    def current_resource
      nil
    end

    def cookbook_name
      new_resource.class.cookbook_name
    end

    def recipe_name
      nil
    end

    def dsl_owner
      "action class of #{new_resource}"
    end

    def converge_by(descriptions, &block)
      run_context.runner.converge_by(new_resource, descriptions, &block)
    end

    def converge_if_changed(*_props)
      raise NotImplemented, 'converge_if_changed (load_current_value is not supported either)'
    end

    def whyrun_supported?
      true
    end
  end

  # Custom resources from a cookbook's resources/*.rb (Chef::Resource::LWRPBase).
  class CustomResource < Resource
    class << self
      attr_accessor :cookbook_name, :source_file

      def build_from_file(cookbook_name, path)
        klass = Class.new(CustomResource)
        klass.cookbook_name = cookbook_name
        klass.source_file = path
        Standin.class_from_file(klass, path)
        auto_name = "#{cookbook_name}_#{File.basename(path, '.rb')}".to_sym
        # Chef wires the file-derived name too unless something already provides it.
        klass.provides(auto_name) unless Resource.registry.key?(auto_name)
        klass
      end

      # Chef's resource partials: `use 'partial/_name'` evaluates resources/partial/_name.rb
      # (the leading _ may be left out) into this class, relative to the file that calls it.
      def use(partial)
        basename = ::File.basename(partial, '.rb').delete_prefix('_')
        caller_file = caller_locations(1, 1).first
        base = ::File.dirname(caller_file.absolute_path || caller_file.path)
        path = ::File.expand_path("#{::File.dirname(partial)}/_#{basename}.rb", base)
        raise Error, "#{self}: use #{partial.inspect}: no partial #{path}" unless ::File.file?(path)

        Standin.class_from_file(self, path)
      end

      def action_blocks
        @action_blocks ||= {}
      end

      def action(name, description: nil, &block)
        _ = description
        name = name.to_sym
        raise ArgumentError, "action :#{name} needs a block" unless block

        action_blocks[name] = block
        allowed_actions(name)
        @default_action ||= [name] # the first action is the default, as in Chef
      end

      def action_class(&block)
        @action_class ||= Class.new(ActionClass)
        @action_class.class_eval(&block) if block
        @action_class
      end

      def action_description(*) = nil

      def to_s
        "Custom resource #{resource_name} from cookbook #{cookbook_name}"
      end
      alias inspect to_s
    end

    def run_builtin_action(action)
      block = self.class.action_blocks[action] or
        raise NotImplemented, "action :#{action} of #{self.class.resource_name}"

      run_context.runner.run_custom_action(self, action, block)
    end
  end
end
