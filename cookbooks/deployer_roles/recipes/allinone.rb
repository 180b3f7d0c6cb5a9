#
# Cookbook:: deployer_roles
# Recipe:: allinone
#
# Everything on one node: single-member Galera and RabbitMQ, Keystone, the APIs and compute.
include_recipe 'deployer_roles::database'
include_recipe 'deployer_roles::messaging'
include_recipe 'deployer_roles::identity'
include_recipe 'deployer_roles::controller'
include_recipe 'deployer_roles::compute'
