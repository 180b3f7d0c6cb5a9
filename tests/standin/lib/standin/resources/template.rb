# frozen_string_literal: true

require 'erubis'

module Standin
  module Resources
    # template: a file whose content is an ERB template of a cookbook rendered
    # with Erubis (as Chef does), `variables` as @instance variables, `node` too.
    class Template < File
      provides :template

      property :source, String, default: lazy { "#{::File.basename(path)}.erb" }
      property :cookbook, String
      property :variables, Hash, default: {}
      property :local, [true, false], default: false

      def helpers(*_mods, &_block)
        raise NotImplemented, 'template helpers'
      end

      def helper(*_args, &_block)
        raise NotImplemented, 'template helper'
      end

      def wanted_content
        file = template_file
        TemplateContext.new(variables, node).render(::File.read(file), file)
      end

      private

      # Chef::Provider::TemplateFinder with File Specificity: host, platform-version, platform, default.
      def template_file
        return source if local

        name = cookbook || cookbook_name
        root = run_context.compiler.cookbook_root(name)
        version = node['platform_version'].to_s
        dirs = ["host-#{node['fqdn']}", "#{node['platform']}-#{version}", "#{node['platform']}-#{version.split('.').first}",
                node['platform'].to_s, 'default', '']
        candidates = dirs.uniq.map { |d| ::File.join(root, 'templates', d, source) }
        candidates.find { |c| ::File.file?(c) } or
          raise Chef::Exceptions::FileNotFound, "Cookbook '#{name}' does not contain a template " \
                                                "'#{source}' (looked in #{candidates.map { |c| c.delete_prefix("#{root}/") }.join(', ')})"
      end
    end

    # What a template sees (Chef::Mixin::Template::TemplateContext).
    class TemplateContext < Erubis::Context
      def initialize(variables, node)
        super()
        variables.each { |key, value| instance_variable_set("@#{key}", value) }
        @node = node
      end

      attr_reader :node

      def render(text, path = nil)
        raise NotImplemented, 'template partials (render inside a template)' if path.nil?

        Erubis::Eruby.new(text, filename: path).evaluate(self)
      rescue StandardError, ScriptError => e
        raise e if e.is_a?(NotImplemented)

        frame = Array(e.backtrace).find { |f| f.start_with?("#{path}:") }
        line = frame && frame[/:(\d+)/, 1]
        raise Chef::Exceptions::TemplateError, "#{e.class}: #{e.message} (in #{path}#{line ? " line #{line}" : ''})"
      end
    end
  end
end
