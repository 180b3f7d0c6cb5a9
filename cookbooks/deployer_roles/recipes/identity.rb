#
# Cookbook:: deployer_roles
# Recipe:: identity
#
# Keystone on this controller; the first controller syncs the schema and fills the catalog
# with every service's endpoints on the VIPs.
first = DeployerPacemaker::Helpers.cib_writer?(node.to_hash)

deployer_openstack_service 'keystone'

deployer_openstack_keystone_bootstrap 'keystone' do
  db_sync first
end

deployer_openstack_endpoints 'catalog' do
  action :register
  only_if { first }
end
