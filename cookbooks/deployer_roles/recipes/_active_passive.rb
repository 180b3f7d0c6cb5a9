#
# Cookbook:: deployer_roles
# Recipe:: _active_passive
#
# The two-node active/passive stack shared by role[primary] and role[secondary].
include_recipe 'deployer_roles::database_ap'
include_recipe 'deployer_roles::messaging'
include_recipe 'deployer_roles::identity'
include_recipe 'deployer_roles::controller'
include_recipe 'deployer_roles::scheduler_ap'
