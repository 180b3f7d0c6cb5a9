# frozen_string_literal: true

module Standin
  module Resources
    # service on a systemd node (Chef::Provider::Service::Systemd): state from
    # `systemctl show`, changes through systemctl.  Nodes without systemd as
    # PID 1 need another provider, which the stand-in does not have: an error.
    class SystemdService < Resource
      provides :service
      provides :systemd_service_control
      resource_name :service
      allowed_actions :enable, :disable, :start, :stop, :restart, :reload, :mask, :unmask
      default_action :nothing

      property :service_name, String, name_property: true
      property :supports, Hash, default: {}
      property :timeout, Integer, default: 900
      property :options, [String, Array]
      property :user, String
      %i(pattern start_command stop_command status_command restart_command reload_command init_command
         priority parameters run_levels).each { |p| property p, Object }

      def after_created
        %i(pattern start_command stop_command status_command restart_command reload_command init_command
           priority parameters run_levels user options).each do |p|
          raise NotImplemented, "service property #{p}" unless public_send(p).nil?
        end
      end

      def action_enable
        check_systemd!
        return if enabled?

        converge_by("enable service #{self}") { systemctl('enable') }
      end

      def action_disable
        check_systemd!
        return unless enabled?

        converge_by("disable service #{self}") { systemctl('disable') }
      end

      def action_start
        check_systemd!
        return if active?

        converge_by("start service #{self}") { systemctl('start') }
      end

      def action_stop
        check_systemd!
        return unless active?

        converge_by("stop service #{self}") { systemctl('stop') }
      end

      def action_restart
        check_systemd!
        converge_by("restart service #{self}") { systemctl('restart') }
      end

      # Chef's systemd provider reloads a running unit and starts a stopped one.
      def action_reload
        check_systemd!
        return converge_by("start service #{self}") { systemctl('start') } unless active?

        converge_by("reload service #{self}") { systemctl('reload') }
      end

      def action_mask
        check_systemd!
        return if state['UnitFileState'] == 'masked'

        converge_by("mask service #{self}") { systemctl('mask') }
      end

      def action_unmask
        check_systemd!
        return unless state['UnitFileState'] == 'masked'

        converge_by("unmask service #{self}") { systemctl('unmask') }
      end

      private

      def unit
        service_name.include?('.') ? service_name : "#{service_name}.service"
      end

      def state
        out = Shell.run([['systemctl', 'show', '-p', 'LoadState', '-p', 'ActiveState', '-p', 'UnitFileState', '--', unit]], {})
        out.stdout.lines.to_h { |l| l.chomp.split('=', 2) }
      end

      # Chef's systemd provider: "activating" is not active.
      def active?
        state['ActiveState'] == 'active'
      end

      # Chef's is_enabled?: these unit file states count as enabled; "bad" asks systemctl.
      def enabled?
        unit_state = state['UnitFileState']
        return Shell.run([['systemctl', 'is-enabled', '--quiet', unit]], {}).exitstatus.zero? if unit_state == 'bad'

        %w(enabled static generated alias indirect).include?(unit_state)
      end

      def systemctl(verb)
        Shell.run([['systemctl', verb, '--', unit]], { timeout: timeout }).error!
      end

      # sd_booted(): systemd is PID 1 when /run/systemd/system exists.
      def check_systemd!
        return if ::File.directory?('/run/systemd/system')

        pid1 = (::File.read('/proc/1/comm').strip rescue '?') # rubocop:disable Style/RescueModifier
        raise NotImplemented, "#{self}: this node does not run systemd (PID 1 is #{pid1}); a service provider other than systemd"
      end
    end
  end
end
