#
# Cookbook:: deployer_roles
# Recipe:: database_ap
#
# Active/passive MySQL on DRBD (the origin's crm_mon picture): DRBD below, Pacemaker moves
# file system, VIP and mysqld together. The first controller seeds the initial DRBD sync.
package 'mariadb-server'

# Pacemaker starts mysqld where the promoted DRBD copy is; systemd must not start it at boot.
service node['deployer']['drbd_mysql']['service'] do
  action :disable
end

deployer_drbd_mysql node['deployer']['drbd_mysql']['resource'] do
  bootstrap DeployerPacemaker::Helpers.cib_writer?(node.to_hash)
end

include_recipe 'deployer_roles::_pacemaker'
