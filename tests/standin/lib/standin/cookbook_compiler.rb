# frozen_string_literal: true

module Standin
  # Chef::RunContext::CookbookCompiler: libraries of every cookbook in
  # dependency order, then attribute files (default.rb first), then custom
  # resources, then the run-list's recipes; include_recipe loads a recipe once.
  class CookbookCompiler
    def initialize(cookbooks, run_list_recipes, node, output)
      @cookbooks = cookbooks
      @run_list_recipes = run_list_recipes
      @node = node
      @output = output
      @loaded_recipes = []
      @loaded_attributes = []
      @run_context = nil
    end

    attr_writer :run_context

    def cookbook_roots
      @cookbooks.values.map { |cb| ::File.dirname(cb.root) }.uniq
    end

    def cookbook_root(name)
      cookbook = @cookbooks[name.to_s] or
        raise Chef::Exceptions::CookbookNotFound,
              "Cookbook #{name} not found. If you're loading #{name} from another cookbook, make sure you configure " \
              'the dependency in your metadata'
      cookbook.root
    end

    # Run-list cookbooks, each after its dependencies (metadata order).
    def cookbook_order
      order = []
      visit = lambda do |name|
        next if order.include?(name)

        cookbook = @cookbooks[name] or raise Chef::Exceptions::CookbookNotFound, "Cookbook #{name} not found (a dependency)"
        order << name # before its dependencies are visited, so cycles end; moved after them below
        cookbook.dependencies.each_key { |dep| visit.call(dep) }
        order.delete(name)
        order << name
      end
      @run_list_recipes.each { |recipe| visit.call(recipe.split('::').first.split('@').first) }
      order
    end

    def compile
      order = cookbook_order
      order.each { |name| @cookbooks[name].files('libraries', '**/*.rb').each { |path| Kernel.load(path) } }
      @node.include_attribute_hook = ->(spec) { load_attribute_spec(spec) }
      order.each do |name|
        files = @cookbooks[name].files('attributes')
        files.sort_by { |p| [::File.basename(p) == 'default.rb' ? 0 : 1, p] }.each { |path| load_attribute_file(path) }
      end
      @node.include_attribute_hook = nil
      order.each do |name|
        %w(providers definitions).each do |segment|
          raise NotImplemented, "#{segment}/ in cookbook #{name} (LWRP providers and definitions)" if @cookbooks[name].files(segment).any?
        end
        # As Chef: every .rb under resources/, except partials (a name starting with _), which
        # a resource pulls in with `use`.
        @cookbooks[name].files('resources', '**/*.rb').each do |path|
          CustomResource.build_from_file(name, path) unless ::File.basename(path).start_with?('_')
        end
      end
      @run_list_recipes.each { |recipe| include_recipe(recipe) }
    end

    def include_recipe(spec)
      cookbook, recipe = spec.split('@').first.split('::', 2)
      recipe ||= 'default'
      key = "#{cookbook}::#{recipe}"
      if @loaded_recipes.include?(key)
        @output.debug("I am not loading #{key}, because I have already seen it.")
        return false
      end

      root = cookbook_root(cookbook)
      path = ::File.join(root, 'recipes', "#{recipe}.rb")
      raise Chef::Exceptions::RecipeNotFound, "could not find recipe #{recipe} for cookbook #{cookbook}" unless ::File.file?(path)

      @loaded_recipes << key
      Recipe.new(cookbook, recipe, @run_context).from_file(path)
      true
    end

    def loaded_recipes
      @loaded_recipes.dup
    end

    private

    def load_attribute_spec(spec)
      cookbook, file = spec.to_s.split('::', 2)
      path = ::File.join(cookbook_root(cookbook), 'attributes', "#{file || 'default'}.rb")
      raise Chef::Exceptions::FileNotFound, "include_attribute #{spec}: #{path} does not exist" unless ::File.file?(path)

      load_attribute_file(path)
    end

    def load_attribute_file(path)
      return if @loaded_attributes.include?(path)

      @loaded_attributes << path
      Standin.from_file(@node, path)
    end
  end
end
