# frozen_string_literal: true

module Standin
  # One cookbook as the run uses it: its files on disk (the file cache, or a
  # cookbook_path in local mode) and its metadata dependencies.
  CookbookVersion = Struct.new(:name, :version, :root, :dependencies) do
    def files(segment, pattern = '*.rb')
      Dir.glob(File.join(root, segment, pattern)).sort
    end

    def recipe_file(recipe)
      path = File.join(root, 'recipes', "#{recipe}.rb")
      File.file?(path) ? path : nil
    end
  end

  # metadata.rb read the way Chef's Chef::Cookbook::Metadata reads it (local mode).
  class MetadataFile
    IGNORED = %i(maintainer maintainer_email license description long_description chef_version
                 ohai_version supports issues_url source_url privacy provides recipe attribute
                 grouping eager_load_libraries).freeze

    attr_reader :dependencies

    def self.read(path)
      new.tap { |m| Standin.from_file(m, path) }
    end

    def initialize
      @dependencies = {}
      @name = nil
      @version = '0.0.0'
    end

    def name(value = nil)
      value.nil? ? @name : (@name = value.to_s)
    end

    def version(value = nil)
      value.nil? ? @version : (@version = value.to_s)
    end

    def depends(cookbook, constraint = '>= 0.0.0')
      @dependencies[cookbook.to_s] = constraint.to_s
    end

    IGNORED.each { |m| define_method(m) { |*_args, **_opts| nil } }

    def gem(*)
      raise NotImplemented, 'metadata.rb `gem`'
    end
  end
end
