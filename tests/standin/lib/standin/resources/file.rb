# frozen_string_literal: true

require 'digest'
require 'etc'
require 'fileutils'
require 'securerandom'
require 'tmpdir'

module Standin
  module Resources
    # file (Chef::Provider::File): content staged in a temporary file in the
    # target's directory, verified there (`verify 'cmd %{path}'` sees the staged
    # file), then moved over the target atomically; owner/group/mode; backups.
    class File < Resource
      provides :file
      allowed_actions :create, :delete, :touch, :create_if_missing
      default_action :create

      property :path, String, name_property: true
      property :content, [String, nil]
      property :owner, [String, Integer]
      property :group, [String, Integer]
      property :mode, [String, Integer]
      property :backup, [Integer, false], default: 5
      property :atomic_update, [true, false], default: true
      property :force_unlink, [true, false], default: false
      property :manage_symlink_source, [true, false]

      def verify(command = nil, options = {}, &block)
        raise NotImplemented, 'verify with a block' if block
        raise NotImplemented, "verify options #{options.keys.join(', ')}" unless options.empty?
        raise NotImplemented, "verify with a #{command.class} (a String command is supported)" unless command.is_a?(String)
        raise ArgumentError, 'verify uses %{path} for the file to check; %{file} was removed in Chef 13' if command.include?('%{file}')

        (@verifications ||= []) << command
      end

      def verifications
        @verifications || []
      end

      def after_created
        raise NotImplemented, 'manage_symlink_source' unless manage_symlink_source.nil?
        raise NotImplemented, 'atomic_update false' unless atomic_update
      end

      def action_create
        deploy(wanted_content)
        apply_access_control
      end

      def action_create_if_missing
        return if ::File.exist?(path)

        action_create
      end

      def action_touch
        action_create
        converge_by("update utime on file #{path}") { FileUtils.touch(path) }
      end

      def action_delete
        return unless ::File.exist?(path)
        raise Error, "#{self}: #{path} is a directory" if ::File.directory?(path)

        converge_by("delete file #{path}") do
          make_backup
          ::File.unlink(path)
        end
      end

      # The new content, or nil when the resource does not manage content.
      def wanted_content
        content
      end

      private

      def deploy(new_content)
        dir = ::File.dirname(path)
        raise Error, "#{self}: #{path} is a directory" if ::File.directory?(path)

        why_run = run_context.runner.why_run
        unless ::File.directory?(dir)
          raise Error, "Parent directory #{dir} does not exist." unless why_run

          # Chef's why-run assumes an earlier resource would have created it.
          return converge_by("create new file #{path} (assuming parent directory #{dir} would have been created)")
        end
        exists = ::File.exist?(path)
        if new_content.nil?
          converge_by("create new file #{path}") { FileUtils.touch(path) } unless exists
          return
        end
        new_content = new_content.b
        old = exists ? ::File.binread(path) : nil
        return if old == new_content
        return why_run_deploy(old, new_content, exists) if why_run

        staged = stage(dir, new_content)
        begin
          descriptions = [exists ? nil : "create new file #{path}",
                          "update content in file #{path} from #{old ? short_sha(old) : 'none'} to #{short_sha(new_content)}"]
          descriptions << (sensitive ? 'suppressed sensitive resource' : diff(old, staged))
          descriptions.concat(new_file_access(exists))
          converge_by(descriptions.compact) do
            verify_staged(staged)
            make_backup if exists
            apply_modes(staged, exists)
            ::File.rename(staged, path)
          end
        ensure
          ::File.unlink(staged) if ::File.exist?(staged)
        end
      end

      # Why-run describes the change with its diff and writes nothing near the target: the
      # new content is staged in a private temporary directory (Chef's fallback staging
      # place) for the diff only, and removed.
      def why_run_deploy(old, new_content, exists)
        descriptions = [exists ? nil : "create new file #{path}",
                        "update content in file #{path} from #{old ? short_sha(old) : 'none'} to #{short_sha(new_content)}"]
        if sensitive
          descriptions << 'suppressed sensitive resource'
        else
          Dir.mktmpdir('standin-why-run') { |dir| descriptions << diff(old, stage(dir, new_content)) }
        end
        converge_by(descriptions.compact + new_file_access(exists))
      end

      # A new file gets its owner/group/mode before it is moved in; say so as Chef does.
      def new_file_access(exists)
        return [] if exists

        [mode ? "change mode from '' to '#{format('%04o', wanted_mode)}'" : nil,
         owner ? "change owner from '' to '#{owner}'" : nil,
         group ? "change group from '' to '#{group}'" : nil].compact
      end

      def stage(dir, new_content)
        staged = ::File.join(dir, ".chef-#{::File.basename(path)}#{SecureRandom.hex(6)}")
        ::File.open(staged, ::File::WRONLY | ::File::CREAT | ::File::EXCL, 0o600) { |f| f.write(new_content) }
        staged
      end

      # Chef::Resource::File::Verification: each command must exit 0 on the staged file.
      def verify_staged(staged)
        verifications.each do |template|
          command = format(template, path: staged)
          result = Shell.run([command], {})
          next if result.exitstatus.zero?

          detail = sensitive ? '[sensitive]' : "#{template}\n#{(result.stdout + result.stderr).strip}"
          raise Chef::Exceptions::ValidationFailed, "Proposed content for #{path} failed verification #{detail}"
        end
      end

      def diff(old, staged)
        return [] if old.nil? || old.include?("\0") || ::File.binread(staged).include?("\0")

        ::File.write(tmp = "#{staged}.old", old)
        out = Shell.run([['diff', '-u', '--label', path, '--label', 'new content', tmp, staged]], {}).stdout
        ::File.unlink(tmp)
        out.lines.first(200).map(&:chomp)
      end

      def short_sha(data)
        Digest::SHA256.hexdigest(data)[0, 8]
      end

      def make_backup
        return unless backup && backup.positive? && ::File.file?(path)

        dir = ChefConfig::Config[:file_backup_path]
        return unless dir

        target = ::File.join(dir, "#{path.sub(%r{\A/}, '')}.chef-#{Time.now.strftime('%Y%m%d%H%M%S.%6N')}")
        FileUtils.mkdir_p(::File.dirname(target))
        FileUtils.cp(path, target, preserve: true)
        old = Dir.glob("#{::File.join(dir, path.sub(%r{\A/}, ''))}.chef-*").sort
        FileUtils.rm_f(old.first(old.size - backup)) if old.size > backup
      end

      # The staged file gets the target's current owner/mode (or the wanted ones) before the move.
      def apply_modes(staged, exists)
        if exists
          stat = ::File.stat(path)
          ::File.chmod(stat.mode & 0o7777, staged)
          ::File.chown(stat.uid, stat.gid, staged) if Process.uid.zero?
        else
          ::File.chmod(0o666 & ~::File.umask, staged)
        end
        ::File.chmod(wanted_mode, staged) if mode
        ::File.chown(uid_of(owner), gid_of(group), staged) if owner || group
      end

      def apply_access_control
        return unless ::File.exist?(path) || run_context.runner.why_run

        stat = ::File.exist?(path) ? ::File.stat(path) : nil
        if mode && (stat.nil? || (stat.mode & 0o7777) != wanted_mode)
          converge_by("change mode from '#{stat ? format('%04o', stat.mode & 0o7777) : ''}' to '#{format('%04o', wanted_mode)}'") do
            ::File.chmod(wanted_mode, path)
          end
        end
        if owner && (stat.nil? || stat.uid != uid_of(owner))
          converge_by("change owner from '#{stat ? name_of_uid(stat.uid) : ''}' to '#{owner}'") { ::File.chown(uid_of(owner), nil, path) }
        end
        return unless group && (stat.nil? || stat.gid != gid_of(group))

        converge_by("change group from '#{stat ? name_of_gid(stat.gid) : ''}' to '#{group}'") { ::File.chown(nil, gid_of(group), path) }
      end

      def wanted_mode
        mode.is_a?(String) ? mode.oct : mode
      end

      def uid_of(user)
        return nil if user.nil?
        return user if user.is_a?(Integer)

        Etc.getpwnam(user).uid
      rescue ArgumentError
        raise Chef::Exceptions::ValidationFailed, "#{self}: user #{user.inspect} does not exist on this node"
      end

      def gid_of(grp)
        return nil if grp.nil?
        return grp if grp.is_a?(Integer)

        Etc.getgrnam(grp).gid
      rescue ArgumentError
        raise Chef::Exceptions::ValidationFailed, "#{self}: group #{grp.inspect} does not exist on this node"
      end

      def name_of_uid(uid)
        Etc.getpwuid(uid).name
      rescue ArgumentError
        uid.to_s
      end

      def name_of_gid(gid)
        Etc.getgrgid(gid).name
      rescue ArgumentError
        gid.to_s
      end
    end
  end
end
