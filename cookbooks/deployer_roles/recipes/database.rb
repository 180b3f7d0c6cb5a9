#
# Cookbook:: deployer_roles
# Recipe:: database
#
# Galera member (active/active replication, one writer per HAProxy listener).
include_recipe 'deployer_galera'
