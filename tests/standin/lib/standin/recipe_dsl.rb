# frozen_string_literal: true

module Standin
  # What recipes and custom resource actions can call (Chef::DSL::Recipe):
  # resources by name, include_recipe, node, data bags, shell_out, lazy.
  # Anything else is an error that names the method.
  module RecipeDSL
    include UniversalDSL

    # Chef DSL methods that exist in Chef Infra Client but not here.
    UNIMPLEMENTED_DSL = %i(search data_bag tag tagged? untag edit_resource edit_resource! find_resource
                           find_resource! delete_resource delete_resource! declare_resource build_resource
                           with_run_context powershell_out powershell_out! registry_key_exists? chef_vault_item
                           secret include_profile value_for_platform value_for_platform_family
                           reboot_pending? resources).freeze

    def node
      run_context.node
    end

    def lazy(&block)
      DelayedEvaluator.new(&block)
    end

    def include_recipe(*names)
      names.flatten.each { |name| run_context.compiler.include_recipe(name.to_s) }
    end

    def method_missing(name, *args, **options, &block)
      klass = Resource.registry[name]
      return declare(name, klass, args, options, block, caller_locations(1, 20)) if klass
      raise NotImplemented, "the Chef DSL method `#{name}'" if UNIMPLEMENTED_DSL.include?(name)
      raise NotImplemented, "the Chef resource `#{name}'" if UnimplementedResources::NAMES.include?(name)

      raise NoMethodError, "No resource or method named `#{name}' for `#{dsl_owner}'"
    end

    def respond_to_missing?(name, include_private = false)
      Resource.registry.key?(name) || super
    end

    private

    def declare(type, klass, args, options, block, locations)
      raise ArgumentError, "#{klass.resource_name} takes a name and a block, got #{args.size} arguments" if args.size > 1
      raise NotImplemented, "resource options #{options.keys.join(', ')}" unless options.empty?

      resource = klass.new(args.first, run_context)
      resource.declared_type = type
      resource.cookbook_name = cookbook_name
      resource.recipe_name = recipe_name
      resource.declared_in_recipe = is_a?(Recipe)
      resource.enclosing_provider = is_a?(ActionClass) ? self : nil
      location = locations.find { |l| run_context.relative_cookbook_path(l.path) } || locations.first
      resource.source_line = "#{location.path}:#{location.lineno}"
      resource.instance_exec(resource, &block) if block
      resource.after_created
      run_context.add(resource)
      resource
    end
  end
end
