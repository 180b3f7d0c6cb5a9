#
# Cookbook:: deployer_roles
# Recipe:: primary
#
# Active/passive pair, first node (origin: "chef-runlist": "role[primary]", order 1). Being first
# in node['deployer']['cluster']['controllers'], it seeds DRBD, loads the CIB and bootstraps Keystone.
include_recipe 'deployer_roles::_active_passive'
