# Evaluate a cookbook's metadata.rb and print the equivalent metadata.json.
#
# Usage: ruby metadata_rb.rb path/to/metadata.rb
#
# A small stand-in for Chef::Cookbook::Metadata (what knife runs on upload),
# covering the Sous-Chefs style DSL.  An unknown method is an error naming it,
# so a typo in metadata.rb is caught at upload rather than ignored.
require "json"

class CookbookMetadata
  STRING_FIELDS = %w(name maintainer maintainer_email license description long_description
                     source_url issues_url).freeze
  VERSION_PATTERN = /\A\d+\.\d+(\.\d+)?\z/

  def initialize
    @data = {
      "name" => nil, "description" => "", "long_description" => "", "maintainer" => "",
      "maintainer_email" => "", "license" => "All rights reserved", "platforms" => {},
      "dependencies" => {}, "providing" => {}, "recipes" => {}, "version" => "0.0.0",
      "source_url" => "", "issues_url" => "", "privacy" => false, "chef_versions" => [],
      "ohai_versions" => [], "gems" => [], "attributes" => {}, "recommendations" => {},
      "suggestions" => {}, "conflicting" => {}, "replacing" => {}, "groupings" => {}
    }
  end

  attr_reader :data

  STRING_FIELDS.each do |field|
    define_method(field) do |value = nil|
      @data[field] = value.to_s unless value.nil?
      @data[field]
    end
  end

  def version(value = nil)
    unless value.nil?
      value = value.to_s
      raise ArgumentError, "version #{value.inspect} is not x.y.z" unless value =~ VERSION_PATTERN
      value += ".0" if value.count(".") == 1
      @data["version"] = value
    end
    @data["version"]
  end

  def depends(cookbook, constraint = ">= 0.0.0")
    @data["dependencies"][cookbook.to_s] = constraint.to_s
  end

  def supports(platform, constraint = ">= 0.0.0")
    @data["platforms"][platform.to_s] = constraint.to_s
  end

  def chef_version(*constraints)
    @data["chef_versions"] << constraints.map(&:to_s)
  end

  def ohai_version(*constraints)
    @data["ohai_versions"] << constraints.map(&:to_s)
  end

  def gem(*args)
    @data["gems"] << args.map(&:to_s)
  end

  def recipe(name, description)
    @data["recipes"][name.to_s] = description.to_s
  end

  def provides(name, constraint = ">= 0.0.0")
    @data["providing"][name.to_s] = constraint.to_s
  end

  def privacy(flag)
    @data["privacy"] = flag ? true : false
  end

  def method_missing(name, *_args)
    raise NoMethodError, "metadata.rb: unsupported metadata method '#{name}'"
  end

  def respond_to_missing?(_name, _include_private = false)
    false
  end
end

path = ARGV.fetch(0) { abort "usage: ruby metadata_rb.rb path/to/metadata.rb" }
metadata = CookbookMetadata.new
begin
  metadata.instance_eval(File.read(path), path, 1)
rescue ScriptError, StandardError => e
  line = e.backtrace&.find { |frame| frame.start_with?(path) }
  location = line ? line[/\A[^:]+:\d+/] : path
  # original_message: without the source excerpt Ruby 3.1's error_highlight appends
  message = e.respond_to?(:original_message) ? e.original_message : e.message
  abort "#{location}: #{message}"
end
abort "#{path}: 'name' is required in metadata.rb" if metadata.data["name"].to_s.empty?
puts JSON.generate(metadata.data)
