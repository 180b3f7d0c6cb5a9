#
# Cookbook:: deployer_roles
# Recipe:: database
#
# Galera member (active/active replication, one writer per HAProxy listener).  The deployer
# converges the bootstrap node first (it names it in node['deployer']['galera']['bootstrap_node']);
# the others join afterwards.
include_recipe 'deployer_common'

galera = node['deployer']['galera']
bootstrap_node = galera['bootstrap_node']
raise "node['deployer']['galera']['bootstrap_node'] is not set: the deployer must choose the node that starts the cluster" unless bootstrap_node

package %w(mariadb-server galera-4 rsync)

deployer_galera galera['cluster_name'] do
  bootstrap_node bootstrap_node
  action bootstrap_node == node.name ? [:create, :bootstrap] : [:create, :join]
end

deployer_galera_databases galera['cluster_name'] do
  only_if { bootstrap_node == node.name }
end
