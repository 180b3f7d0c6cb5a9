# frozen_string_literal: true

module Standin
  # Chef::RunList::RunListExpansion: roles expanded in order (a role's
  # env_run_lists[environment] replaces its run_list when present), each role
  # applied once, recipes de-duplicated in first-seen order; role default and
  # override attributes deep-merged in expansion order (later roles win).
  class RunListExpansion
    ITEM = /\A(recipe|role)\[([^\]]+)\]\z/.freeze

    attr_reader :recipes, :roles, :default_attrs, :override_attrs

    def initialize(source, environment)
      @source = source
      @environment = environment
      @recipes = []
      @roles = []
      @default_attrs = {}
      @override_attrs = {}
    end

    def self.parse(item)
      match = ITEM.match(item.to_s)
      return ['recipe', item.to_s] unless match

      [match[1], match[2]]
    end

    def expand(run_list, trail = [])
      run_list.each do |item|
        kind, name = RunListExpansion.parse(item)
        if kind == 'recipe'
          @recipes << name unless @recipes.include?(name)
          next
        end
        raise Error, "role[#{name}] includes itself (#{(trail + [name]).join(' -> ')})" if trail.include?(name)
        next if @roles.include?(name)

        role = @source.role(name)
        @roles << name
        @default_attrs = Attributes.deep_merge_arrays(@default_attrs, role['default_attributes'] || {})
        @override_attrs = Attributes.deep_merge_arrays(@override_attrs, role['override_attributes'] || {})
        env_lists = role['env_run_lists'] || {}
        expand(env_lists.key?(@environment) ? env_lists[@environment] : (role['run_list'] || []), trail + [name])
      end
      self
    end
  end
end
