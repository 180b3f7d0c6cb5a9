#!/usr/bin/env ruby
# frozen_string_literal: true

# Render a deployer cookbook template outside chef-client (which no registry
# here ships), the way a converge would: attribute files + role + environment +
# node attributes merged with Chef's precedence, the cookbook's library helpers
# computing the template variables, and Ruby's ERB (trim mode '-') rendering.
#
# CONTRACT (the Python wrapper render.py is the usual caller)
#   ruby render.rb < request.json > output
#   request = {
#     "cookbooks_dir": "/path/to/cookbooks",
#     "action":      "render" (default) | "attributes" | "call",
#     "cookbook":    "deployer_haproxy",
#     "template":    "haproxy.cfg",          # a key of <Cookbook>::Helpers::TEMPLATES
#     "roles":       [<Chef role JSON>, ...], # default_attributes / override_attributes / run_list;
#                    # nested role[...] entries are not expanded: list every role of the
#                    # node's expanded run-list, in expansion order (later roles win)
#     "environment": <Chef environment JSON> or null,
#     "node":        {"name": "ctl1", "ipaddress": "10.0.0.11", ..., "normal": {...}},
#                    # every key but "name" and "normal" is an automatic (ohai) attribute
#     "secrets":     {"<bag>": {"<item>": {"<key>": "<value>"}}}   # stands in for data bags
#     "any_secret":  "<value>"   # optional, instead of secrets: every lookup answers it
#   }
#   "render" prints the rendered file; "attributes" prints the merged node
#   attributes as JSON; "call" runs one library function of the cookbook's
#   dependency closure on plain JSON arguments and prints its result as JSON:
#     {"action": "call", "function": "DeployerCommon::Vrrp.check_unique_vrids!",
#      "args": [...], "cookbook": ..., "node": ...}   (node is still required).  Any error: a one-line message on stderr, exit status 2.
#
# COOKBOOK SIDE (how a cookbook makes a template renderable here)
#   module <CamelCasedCookbookName>::Helpers
#     TEMPLATES = { 'haproxy.cfg' => { source: 'haproxy.cfg.erb', variables: :haproxy_config } }
#     # optional cookbook: 'deployer_common' when the .erb lives in another cookbook
#     def self.haproxy_config(node, secret) ... end   # => Hash of template variables
#   end
#   `node` is the merged attributes as a plain Hash with string keys plus 'name'
#   and 'chef_environment' (what node.to_hash gives in Chef); `secret` is a
#   callable (bag, item, key) -> String.  The cookbook's resource takes them as its
#   `config` property, by default `lazy { Helpers.haproxy_config(node.to_hash) }` (with
#   `deployer_secret_lookup` where secrets are needed), so the harness and a real converge
#   compute the same variables.
#
# PRECEDENCE (https://docs.chef.io/attribute_precedence/, lowest first):
#   attribute-file default < environment default < role default
#   < node normal (-j JSON) < attribute-file normal
#   < attribute-file override < role override < environment override < automatic (ohai)
# Chef's two merge rules (lib/chef/node/attribute.rb): the default components
# (attribute file, environment, role) merge among themselves with arrays
# unioned (Attribute#deep_merge!), and so do the override components; then
# default < normal < override < automatic merge hash-only (hash_only_merge!):
# hashes key by key, any other value (arrays included) replaces the lower one.
# A nil never replaces a value.  Roles merge in list order, arrays unioned.
# Attribute files load for the dependency closure of the rendered cookbook and of
# the roles' run-list recipes, dependencies first.

require 'erb'
require 'json'

module ChefRender
  class Error < StandardError; end

  module_function

  # Between precedence levels (Chef::Node::Attribute#hash_only_merge!).
  def deep_merge(lower, higher)
    return lower if higher.nil?
    return higher unless lower.is_a?(Hash) && higher.is_a?(Hash)
    lower.merge(higher) { |_, low, high| deep_merge(low, high) }
  end

  # Within the default or the override components (Chef::Node::Attribute#deep_merge!).
  def deep_merge_arrays(lower, higher)
    return lower if higher.nil?
    return lower | higher if lower.is_a?(Array) && higher.is_a?(Array)
    return higher unless lower.is_a?(Hash) && higher.is_a?(Hash)
    lower.merge(higher) { |_, low, high| deep_merge_arrays(low, high) }
  end

  def stringify(value)
    case value
    when Hash then value.each_with_object({}) { |(k, v), h| h[k.to_s] = stringify(v) }
    when Array then value.map { |v| stringify(v) }
    when Symbol then value.to_s
    else value
    end
  end

  def camelize(cookbook)
    cookbook.split('_').map(&:capitalize).join
  end

  # Auto-vivifying attribute level, as node.default[...] in an attribute file.
  def vivid_hash
    Hash.new { |hash, key| hash[key.to_s] = vivid_hash }
  end

  # Evaluates attributes/*.rb files: default/normal/override writers, node reads.
  class AttributeFiles
    LEVELS = %w(default normal override).freeze
    attr_reader :levels

    def initialize(automatic, name)
      @levels = LEVELS.to_h { |level| [level, ChefRender.vivid_hash] }
      @automatic = automatic
      @name = name
    end

    def load(path)
      instance_eval(File.read(path), path)
    end

    LEVELS.each do |level|
      define_method(level) { @levels[level] }
    end

    def node
      self
    end

    def name
      @name
    end

    # node['x'] in an attribute file reads the merged view of what is set so far.
    def [](key)
      merged = @levels.values.map { |level| ChefRender.stringify(level) }.reduce { |a, b| ChefRender.deep_merge(a, b) }
      ChefRender.deep_merge(merged, @automatic)[key.to_s]
    end
  end

  # Minimal metadata.rb reader: only `depends` matters here.
  class Metadata
    attr_reader :dependencies

    def initialize(path)
      @dependencies = []
      instance_eval(File.read(path), path) if File.exist?(path)
    end

    def depends(name, *_constraints)
      @dependencies << name
    end

    def method_missing(_name, *_args)
      nil
    end

    def respond_to_missing?(_name, _include_private = false)
      true
    end
  end

  class Request
    def initialize(request)
      @dir = request.fetch('cookbooks_dir') { raise Error, 'request needs cookbooks_dir' }
      @cookbook = request.fetch('cookbook') { raise Error, 'request needs cookbook' }
      @roles = Array(request['roles'])
      @environment = request['environment'] || {}
      @node = request.fetch('node') { raise Error, 'request needs node' }
      raise Error, "node needs a 'name'" unless @node.is_a?(Hash) && @node['name'].is_a?(String)
      @secrets = request['secrets'] || {}
      @any_secret = request['any_secret']
      @template = request['template']
    end

    def cookbooks
      return @cookbooks if @cookbooks
      order = []
      visit = lambda do |name|
        next if order.include?(name)
        dir = File.join(@dir, name)
        raise Error, "cookbook #{name} not found in #{@dir}" unless Dir.exist?(dir)
        Metadata.new(File.join(dir, 'metadata.rb')).dependencies.each { |dep| visit.call(dep) }
        order << name
      end
      run_list_cookbooks.each { |name| visit.call(name) }
      visit.call(@cookbook)
      @cookbooks = order
    end

    def run_list_cookbooks
      @roles.flat_map { |role| Array(role['run_list']) }.filter_map do |entry|
        entry[/\Arecipe\[([^:\]]+)/, 1] || (entry.include?('[') ? nil : entry.split('::').first)
      end
    end

    def automatic
      @node.reject { |key, _| %w(name normal).include?(key) }
    end

    def attributes
      files = AttributeFiles.new(automatic, @node['name'])
      cookbooks.each do |name|
        Dir.glob(File.join(@dir, name, 'attributes', '*.rb')).sort_by { |p| [File.basename(p) == 'default.rb' ? 0 : 1, p] }
           .each { |path| files.load(path) }
      end
      level = ->(name) { ChefRender.stringify(files.levels[name]) }
      role_level = ->(key) { @roles.map { |r| r[key] || {} }.reduce({}) { |a, b| ChefRender.deep_merge_arrays(a, b) } }
      within = ->(*components) { components.reduce({}) { |a, b| ChefRender.deep_merge_arrays(a, b) } }
      merged = [
        within.call(level.call('default'), @environment['default_attributes'] || {}, role_level.call('default_attributes')),
        ChefRender.deep_merge(@node['normal'] || {}, level.call('normal')),
        within.call(level.call('override'), role_level.call('override_attributes'), @environment['override_attributes'] || {}),
        automatic,
      ].reduce({}) { |a, b| ChefRender.deep_merge(a, b) }
      merged.merge('name' => @node['name'], 'chef_environment' => @environment['name'] || '_default')
    end

    def load_libraries
      cookbooks.each do |name|
        Dir.glob(File.join(@dir, name, 'libraries', '**', '*.rb')).sort.each { |path| load path }
      end
    end

    def secret
      lambda do |bag, item, key|
        value = @any_secret || @secrets.dig(bag, item, key)
        raise Error, "the request's secrets have no #{bag}/#{item} key '#{key}'" if value.nil?
        value.to_s
      end
    end

    def render
      raise Error, 'request needs template' unless @template
      load_libraries
      helpers = helpers_module
      entry = helpers::TEMPLATES[@template] or
        raise Error, "#{helpers}::TEMPLATES has no '#{@template}' (has: #{helpers::TEMPLATES.keys.join(', ')})"
      variables = helpers.public_send(entry.fetch(:variables), attributes, secret)
      source = File.join(@dir, entry[:cookbook] || @cookbook, 'templates', 'default', entry.fetch(:source))
      raise Error, "template source #{source} not found" unless File.exist?(source)
      TemplateContext.new(variables, attributes).render(File.read(source), source)
    end

    def call(function, args)
      load_libraries
      owner, name = function.to_s.split('.', 2)
      raise Error, "function must look like Module::Name.method, got #{function.inspect}" unless owner && name
      target = begin
        Object.const_get(owner)
      rescue NameError
        raise Error, "no module #{owner} in the libraries of #{cookbooks.join(', ')}"
      end
      raise Error, "#{owner} has no function #{name}" unless target.respond_to?(name)
      target.public_send(name, *Array(args))
    end

    def helpers_module
      Object.const_get("#{ChefRender.camelize(@cookbook)}::Helpers")
    rescue NameError
      raise Error, "cookbook #{@cookbook} defines no #{ChefRender.camelize(@cookbook)}::Helpers module in libraries/"
    end
  end

  # What a Chef template sees: one @instance variable per variables key, and node.
  class TemplateContext
    def initialize(variables, node)
      variables.each { |key, value| instance_variable_set("@#{key}", value) }
      @node = node
    end

    def node
      @node
    end

    def render(source, path)
      erb = ERB.new(source, trim_mode: '-')
      erb.filename = path
      erb.result(binding)
    end
  end
end

if $PROGRAM_NAME == __FILE__
  begin
    body = JSON.parse($stdin.read)
    request = ChefRender::Request.new(body)
    case (action = body['action'] || 'render')
    when 'render' then $stdout.write(request.render)
    when 'attributes' then $stdout.write(JSON.pretty_generate(request.attributes))
    when 'call' then $stdout.write(JSON.generate(request.call(body['function'], body['args'])))
    else raise ChefRender::Error, "unknown action #{action}"
    end
  rescue ChefRender::Error, JSON::ParserError, KeyError => e
    warn "render.rb: #{e.message}"
    exit 2
  rescue StandardError, ScriptError => e
    # Helper validation errors (DeployerCommon::InvalidAttribute, VrrpConflict, ...)
    # and template bugs; the first frame says which file and line.
    warn "render.rb: #{e.class}: #{e.message} (at #{Array(e.backtrace).first})"
    exit 2
  end
end
