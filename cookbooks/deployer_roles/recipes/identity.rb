#
# Cookbook:: deployer_roles
# Recipe:: identity
#
# Keystone on this controller; the leader (the first controller, converged first) migrates the
# schema, bootstraps the admin and fills the catalog and the service users, on the VIPs.
include_recipe 'deployer_common'

deployer_openstack_service 'keystone'

deployer_openstack_keystone_bootstrap 'keystone'

deployer_openstack_endpoints 'catalog' do
  action :register
  only_if { DeployerCommon::Cluster.leader?(node.to_hash) }
end
