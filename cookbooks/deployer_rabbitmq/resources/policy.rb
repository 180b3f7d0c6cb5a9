unified_mode true
provides :deployer_rabbitmq_policy

use 'partial/_rabbitmqctl'

description 'The HA mirroring policy, set (classic mirrored queues) or cleared (quorum queues) with rabbitmqctl; cluster-wide, so applied on one node'

property :policy_name, String, name_property: true
property :vhost, String, default: '/'

action_class do
  def policies
    ctl_json('list_policies', '-p', new_resource.vhost) or
      raise "deployer_rabbitmq_policy[#{new_resource.policy_name}]: rabbitmqctl list_policies failed"
  end
end

action :set do
  attributes = node.to_hash
  args = DeployerRabbitmq::Helpers.set_policy_args(attributes)
  raise "deployer_rabbitmq_policy[#{new_resource.policy_name}]: no HA policy with queue_type #{DeployerRabbitmq::Helpers.queue_type(attributes)}" unless args

  execute "rabbitmqctl set_policy #{new_resource.policy_name}" do
    command [new_resource.rabbitmqctl, *args]
    not_if { DeployerRabbitmq::Helpers.policy_current?(attributes, policies) }
  end
end

action :clear do
  execute "rabbitmqctl clear_policy #{new_resource.policy_name}" do
    command [new_resource.rabbitmqctl, 'clear_policy', '-p', new_resource.vhost, new_resource.policy_name]
    only_if { policies.any? { |p| p['name'] == new_resource.policy_name } }
  end
end
