#
# Cookbook:: deployer_roles
# Recipe:: secondary
#
# Active/passive pair, second node (order 2): the DRBD peer and the standby of every
# Pacemaker resource; it joins the cluster the primary formed.
include_recipe 'deployer_roles::_active_passive'
