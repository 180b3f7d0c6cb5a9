# frozen_string_literal: true

module Standin
  module Resources
    # directory: created (with parents when recursive), owner/group/mode on the leaf.
    class Directory < File
      provides :directory
      allowed_actions :create, :delete
      default_action :create

      property :recursive, [true, false], default: false

      def action_create
        if ::File.exist?(path) && !::File.directory?(path)
          raise Error, "Cannot create a directory at #{path}: a file of another type is there"
        end
        unless ::File.directory?(path)
          parent = ::File.dirname(path)
          unless recursive || ::File.directory?(parent) || run_context.runner.why_run
            raise Error, "Parent directory #{parent} does not exist, cannot create #{path}"
          end

          converge_by("create new directory #{path}") { recursive ? FileUtils.mkdir_p(path) : Dir.mkdir(path) }
        end
        send(:apply_access_control)
      end

      def action_delete
        return unless ::File.directory?(path)

        converge_by("delete existing directory #{path}") { recursive ? FileUtils.rm_rf(path) : Dir.rmdir(path) }
      end
    end
  end
end
