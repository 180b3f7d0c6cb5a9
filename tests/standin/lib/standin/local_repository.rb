# frozen_string_literal: true

require 'json'

module Standin
  # -z / --local-mode: the chef-repo layout chef-zero serves (cookbook_path,
  # role_path, environment_path, data_bag_path, node_path), read straight from
  # disk.  Real chef-client starts chef-zero for this; the stand-in reads the
  # same files without a server.  Cookbook versions are the ones on disk.
  class LocalRepository
    def initialize(config, output)
      @config = config
      @output = output
    end

    def server?
      false
    end

    def node(name)
      path = node_file(name)
      path && File.exist?(path) ? JSON.parse(File.read(path)) : nil
    end

    def create_node(data)
      save_node(data)
    end

    def save_node(data)
      path = node_file(data['name'])
      return unless path

      FileUtils.mkdir_p(File.dirname(path))
      File.write(path, JSON.pretty_generate(data))
    end

    def environment(name)
      return { 'name' => '_default', 'default_attributes' => {}, 'override_attributes' => {} } if name == '_default'

      read_json(@config[:environment_path], name) or
        raise Error, "The environment '#{name}' does not exist in environment_path #{Array(@config[:environment_path]).join(', ')}"
    end

    def role(name)
      read_json(@config[:role_path], name) or
        raise Error, "Role not found: role[#{name}] is not in role_path #{Array(@config[:role_path]).join(', ')}"
    end

    def data_bag_item(bag, item)
      path = Array(@config[:data_bag_path]).map { |dir| File.join(dir, bag, "#{item}.json") }.find { |p| File.exist?(p) }
      return JSON.parse(File.read(path)) if path

      response = Net::HTTPNotFound.new('1.1', '404', 'Not Found')
      raise Net::HTTPClientException.new("404 \"Not Found\" (data bag item #{bag}/#{item})", response)
    end

    # The closure of the run-list's cookbooks over metadata dependencies.
    def cookbooks(_environment, recipes)
      found = {}
      pending = recipes.map { |r| r.split('::').first.split('@').first }
      until pending.empty?
        name = pending.shift
        next if found.key?(name)

        found[name] = load_cookbook(name)
        pending.concat(found[name].dependencies.keys)
      end
      found
    end

    private

    def load_cookbook(name)
      root = Array(@config[:cookbook_path]).map { |dir| File.join(dir, name) }.find { |d| File.directory?(d) }
      raise Error, "Error Resolving Cookbooks for Run List:\nMissing Cookbooks: #{name} (cookbook_path #{Array(@config[:cookbook_path]).join(', ')})" unless root

      metadata_rb = File.join(root, 'metadata.rb')
      meta = File.exist?(metadata_rb) ? MetadataFile.read(metadata_rb) : MetadataFile.new
      CookbookVersion.new(name, meta.version, root, meta.dependencies)
    end

    def node_file(name)
      dir = @config[:node_path]
      dir ? File.join(dir.to_s, "#{name}.json") : nil
    end

    def read_json(paths, name)
      path = Array(paths).map { |dir| File.join(dir, "#{name}.json") }.find { |p| File.exist?(p) }
      path ? JSON.parse(File.read(path)) : nil
    end
  end
end
