#
# Cookbook:: deployer_roles
# Recipe:: loadbalancer
#
# HAProxy in front of the APIs and Galera, on VIPs that keepalived moves.
include_recipe 'deployer_haproxy'
include_recipe 'deployer_keepalived'
