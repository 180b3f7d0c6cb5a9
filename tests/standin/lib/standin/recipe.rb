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
      Standin.from_file(self, path)
    end

    def dsl_owner
      "Chef::Recipe \"#{@recipe_name}\""
    end

    def to_s
      "#{@cookbook_name}::#{@recipe_name}"
    end
  end
end
