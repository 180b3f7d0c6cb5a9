# frozen_string_literal: true

module Standin
  # Chef::Recipe: a recipe file evaluated with the recipe DSL.
  class Recipe
    include RecipeDSL

    attr_reader :cookbook_name, :recipe_name, :run_context

    def initialize(cookbook_name, recipe_name, run_context)
      @cookbook_name = cookbook_name
      @recipe_name = recipe_name
      @run_context = run_context
    end

    def from_file(path)
      instance_eval(File.read(path), path, 1)
    end

    def dsl_owner
      "Chef::Recipe \"#{@recipe_name}\""
    end

    def to_s
      "#{@cookbook_name}::#{@recipe_name}"
    end
  end
end
