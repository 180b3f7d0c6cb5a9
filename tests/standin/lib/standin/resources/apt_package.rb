# frozen_string_literal: true

module Standin
  module Resources
    # package / apt_package (Chef::Provider::Package::Apt): state from dpkg,
    # candidate from apt-cache policy, a virtual package with exactly one
    # provider resolved to it, installs with apt-get non-interactively keeping
    # existing configuration files; apt's own error when it cannot install.
    class AptPackage < Resource
      provides :package
      provides :apt_package
      resource_name :apt_package
      allowed_actions :install, :upgrade, :remove, :purge
      default_action :install

      property :package_name, [String, Array], name_property: true
      property :version, [String, Array]
      property :options, [String, Array]
      property :timeout, [Integer, String], default: 900
      property :default_release, String
      property :overwrite_config_files, [true, false], default: false
      property :response_file, String
      property :source, String

      # Chef::Resource::Package keeps an Array name as the package list (the name itself is joined).
      def initialize(name, run_context)
        super
        package_name(name) if name.is_a?(Array)
      end

      def after_created
        %i(response_file source).each { |p| raise NotImplemented, "package property #{p}" unless public_send(p).nil? }
      end

      def action_install
        wanted = names.zip(versions).filter_map do |name, version|
          resolved = resolve_virtual(name)
          installed = installed_version(resolved)
          next if installed && (version.nil? || installed == version)

          candidate = version || candidate_version(resolved)
          [resolved, candidate]
        end
        return if wanted.empty?

        converge_by(wanted.map { |n, v| "install version #{v || '(no candidate)'} of package #{n}" }) do
          apt_get('install', wanted.map { |n, v| v && versions.any? ? "#{n}=#{v}" : n })
        end
      end

      def action_upgrade
        wanted = names.filter_map do |name|
          resolved = resolve_virtual(name)
          candidate = candidate_version(resolved)
          candidate && installed_version(resolved) != candidate ? [resolved, candidate] : nil
        end
        return if wanted.empty?

        converge_by(wanted.map { |n, v| "upgrade package #{n} to #{v}" }) { apt_get('install', wanted.map(&:first)) }
      end

      def action_remove
        remove('remove')
      end

      def action_purge
        remove('purge')
      end

      private

      def names
        Array(package_name)
      end

      def versions
        version.nil? ? [nil] * names.size : Array(version)
      end

      def remove(verb)
        present = names.select { |n| installed_version(n) || (verb == 'purge' && config_files_left?(n)) }
        return if present.empty?

        converge_by(present.map { |n| "#{verb} package #{n}" }) { apt_get(verb, present) }
      end

      def dpkg_status(name)
        result = Shell.run([['dpkg-query', '-W', '-f=${Status}\t${Version}', name]], {})
        result.exitstatus.zero? ? result.stdout.split("\t") : nil
      end

      def installed_version(name)
        status, version = dpkg_status(name)
        status&.end_with?(' installed') ? version : nil
      end

      def config_files_left?(name)
        status, = dpkg_status(name)
        status&.end_with?(' config-files')
      end

      def candidate_version(name)
        policy = Shell.run([['apt-cache', 'policy', name]], {}).stdout
        candidate = policy[/^\s*Candidate:\s*(\S+)/, 1]
        candidate == '(none)' ? nil : candidate
      end

      # Chef's resolve_virtual_package_name: a package with no candidate of its
      # own that others provide; one provider is used, several are an error.
      def resolve_virtual(name)
        return name if candidate_version(name) || installed_version(name)

        showpkg = Shell.run([['apt-cache', 'showpkg', name]], {}).stdout
        providers = showpkg.split(/^Reverse Provides:\s*$/, 2)[1].to_s.lines.map { |l| l.split.first }.compact.uniq
        return name if providers.empty? # not virtual: apt-get reports it
        if providers.size > 1
          raise Chef::Exceptions::Package, "#{name} is a virtual package provided by multiple packages, you must explicitly select one"
        end

        run_context.runner.output.info("#{name} is a virtual package, actually acting on package[#{providers.first}]")
        providers.first
      end

      def apt_get(verb, packages)
        config = overwrite_config_files ? '--force-confnew' : '--force-confold'
        args = ['apt-get', '-q', '-y', '-o', 'Dpkg::Options::=--force-confdef', '-o', "Dpkg::Options::=#{config}"]
        args += ['-t', default_release] if default_release
        args += Array(options).flat_map { |o| o.is_a?(String) ? o.split : o }
        args += [verb, *packages]
        result = Shell.run([args], { environment: { 'DEBIAN_FRONTEND' => 'noninteractive' }, timeout: timeout.to_i })
        result.error!
      end
    end
  end
end
