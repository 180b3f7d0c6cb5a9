# frozen_string_literal: true

module Standin
  module Resources
    # sysctl (Chef::Resource::Sysctl): the value persisted in
    # /etc/sysctl.d/99-chef-<key>.conf and loaded with `sysctl -p`.
    class Sysctl < Resource
      provides :sysctl
      allowed_actions :apply, :remove
      default_action :apply

      property :key, String, name_property: true
      property :value, [Array, String, Integer, Float], coerce: proc { |v| v.is_a?(Array) ? v.join(' ') : v.to_s }
      property :comment, [Array, String], default: []
      property :conf_dir, String, default: '/etc/sysctl.d'
      property :ignore_error, [true, false], default: false

      def action_apply
        raise Chef::Exceptions::ValidationFailed, "#{self}: value is a required property for :apply" if value.nil?

        file = conf_file
        wanted = Array(comment).map { |c| "# #{c}\n" }.join + "#{key} = #{value}\n"
        current = Shell.run([['sysctl', '-n', '-e', key]], {}).stdout.strip.gsub(/\s+/, ' ')
        file_ok = ::File.exist?(file) && ::File.read(file) == wanted
        return if current == value.to_s.strip.gsub(/\s+/, ' ') && file_ok

        converge_by(["set #{key} to #{value.inspect} (was #{current.inspect})", "write #{file}"]) do
          FileUtils.mkdir_p(conf_dir)
          ::File.write(file, wanted)
          Shell.run([['sysctl', *(ignore_error ? ['-e'] : []), '-p', file]], {}).error!
        end
      end

      def action_remove
        file = conf_file
        return unless ::File.exist?(file)

        converge_by("remove #{file}") do
          ::File.unlink(file)
          Shell.run([['sysctl', '--system']], {}).error!
        end
      end

      private

      def conf_file
        ::File.join(conf_dir, "99-chef-#{key.tr('/', '.')}.conf")
      end
    end
  end
end
