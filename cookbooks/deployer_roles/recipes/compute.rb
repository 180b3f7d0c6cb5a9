#
# Cookbook:: deployer_roles
# Recipe:: compute
#
# nova-network multi-host compute node.
deployer_compute_node 'compute'
