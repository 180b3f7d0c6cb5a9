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
