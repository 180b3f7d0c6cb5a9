#
# Cookbook:: deployer_roles
# Recipe:: messaging
#
# RabbitMQ cluster member.  Every controller gets the same cookie and config; the seed broker
# (the deployer's choice) is converged first and holds the policy and users, which RabbitMQ
# replicates; the others join it explicitly.
include_recipe 'deployer_common'

rabbitmq = node['deployer']['rabbitmq']
attributes = node.to_hash
seed = DeployerRabbitmq::Helpers.seed(attributes)
controllers = DeployerCommon::Cluster.controllers(attributes)
local = controllers.find { |c| c['name'] == node.name }

package 'rabbitmq-server'

deployer_rabbitmq_config rabbitmq['config_dir'] do
  cookie_file rabbitmq['cookie_file']
  notifies :restart, 'service[rabbitmq-server]', :immediately
end

service 'rabbitmq-server' do
  action [:enable, :start]
end

if seed['name'] == node.name
  deployer_rabbitmq_policy rabbitmq['ha_policy']['name'] do
    vhost rabbitmq['vhost']
    rabbitmqctl rabbitmq['rabbitmqctl']
    action DeployerRabbitmq::Helpers.ha_policy(attributes) ? :set : :clear
  end

  rabbitmq['users'].each do |service_user|
    deployer_rabbitmq_user service_user do
      password lazy { deployer_secret(node['deployer']['secrets']['data_bag'], 'mq_passwords', service_user) }
      vhost rabbitmq['vhost']
      rabbitmqctl rabbitmq['rabbitmqctl']
    end
  end
else
  deployer_rabbitmq_cluster DeployerRabbitmq::Helpers.node_name(attributes, seed) do
    local_node DeployerRabbitmq::Helpers.node_name(attributes, local) if local
    rabbitmqctl rabbitmq['rabbitmqctl']
  end
end

if local && controllers.size > 1
  check = rabbitmq['partition_check']
  deployer_rabbitmq_partition_check DeployerRabbitmq::Helpers.node_name(attributes, local) do
    cluster_nodes controllers.map { |c| DeployerRabbitmq::Helpers.node_name(attributes, c) }
    interval check['interval']
    confirmations check['confirmations']
    rabbitmqctl rabbitmq['rabbitmqctl']
    action check['enabled'] ? :create : :delete
  end
end
