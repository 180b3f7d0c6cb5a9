#
# Cookbook:: deployer_roles
# Recipe:: controller
#
# The OpenStack API services (stateless, active on every controller, behind HAProxy where there
# is one) and OVN's central databases, which neutron-server writes to.
include_recipe 'deployer_common'

deployer_ovn_central 'ovn'

%w(glance placement nova neutron cinder).each do |service|
  deployer_openstack_service service
end
