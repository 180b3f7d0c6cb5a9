#
# Cookbook:: deployer_roles
# Recipe:: scheduler_ap
#
# nova/cinder schedulers (and conductor) active/passive under Pacemaker: the origin's fix for
# several schedulers answering the same request.
node['deployer']['pacemaker']['ap_services'].each do |unit|
  # Pacemaker starts the unit where it places it; systemd must not start it at boot.
  service "#{unit} (systemd boot)" do
    service_name unit
    action :disable
  end

  # The package starts it on install: stop it unless Pacemaker placed it on this node.
  service "#{unit} (outside Pacemaker)" do
    service_name unit
    action :stop
    not_if "crm_resource --resource p_#{unit} --locate 2>/dev/null | grep -qw #{node.name}"
  end
end

include_recipe 'deployer_roles::_pacemaker'

# The CIB can be loaded before these units are configured here (the active/passive pair loads it
# with its database, earlier in the run; a node joining later probes them at once): a start or
# probe that failed on this node then keeps the resource off it for good, and it would not fail
# over here.  Once the unit is configured, clear this node's record so Pacemaker probes it again.
node['deployer']['pacemaker']['ap_services'].each do |unit|
  execute "crm_resource --refresh --resource p_#{unit} --node #{node.name}" do
    command ['crm_resource', '--refresh', '--resource', "p_#{unit}", '--node', node.name]
    retries 3      # a DC election under way refuses it for a moment
    retry_delay 5
    only_if do
      status = shell_out('crm_mon', '-1', '--output-as=xml')
      status.exitstatus.zero? && DeployerPacemaker::Helpers.needs_refresh?(status.stdout, "p_#{unit}", node.name)
    end
  end
end

# Where such a unit runs here with a configuration older than its file (Pacemaker started it
# before this run wrote the file), restart it through Pacemaker: nothing else restarts it, the
# service resources restart only the units systemd runs.
node['deployer']['pacemaker']['ap_services'].each do |unit|
  config_file = node['deployer']['openstack'][unit.split('-').first]['config_file']
  execute "crm_resource --restart --resource p_#{unit}" do
    command ['crm_resource', '--restart', '--resource', "p_#{unit}", '--timeout', '120s']
    only_if "crm_resource --resource p_#{unit} --locate 2>/dev/null | grep -qw #{node.name}"
    only_if do
      started = shell_out('systemctl', 'show', '--timestamp=unix', '--property=ActiveEnterTimestamp', '--value', unit).stdout.strip
      ::File.exist?(config_file) && started.start_with?('@') && started.delete('@').to_i < ::File.mtime(config_file).to_i
    end
  end
end
