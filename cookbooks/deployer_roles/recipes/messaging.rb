#
# Cookbook:: deployer_roles
# Recipe:: messaging
#
# RabbitMQ cluster member with HA queues.
include_recipe 'deployer_rabbitmq'
