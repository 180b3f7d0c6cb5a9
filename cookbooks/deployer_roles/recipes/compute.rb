#
# Cookbook:: deployer_roles
# Recipe:: compute
#
# Compute node of a Neutron ML2/OVN cloud: nova-compute, an OVN chassis, the OVN metadata agent.
include_recipe 'deployer_common'

deployer_compute_node 'compute'
