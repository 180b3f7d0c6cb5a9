#
# Cookbook:: deployer_roles
# Recipe:: scheduler_ap
#
# nova/cinder schedulers (and conductor) active/passive under Pacemaker: the origin's fix for
# several schedulers answering the same request.
node['deployer']['pacemaker']['ap_services'].each do |unit|
  # Pacemaker starts the unit where it places it; systemd must not start it everywhere.
  service unit do
    action :disable
  end
end

include_recipe 'deployer_roles::_pacemaker'
