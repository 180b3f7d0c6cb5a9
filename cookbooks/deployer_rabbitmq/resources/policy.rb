unified_mode true
provides :deployer_rabbitmq_policy

description 'A RabbitMQ policy (the HA mirroring policy) set or cleared with rabbitmqctl; cluster-wide, so applied on one node'

property :policy_name, String, name_property: true
property :set_policy_args, Array,
         description: 'rabbitmqctl arguments from DeployerRabbitmq::Helpers.set_policy_args (for :set)'
property :vhost, String, default: '/'
property :rabbitmqctl, String, default: '/usr/sbin/rabbitmqctl'

action_class do
  def current_policy
    result = shell_out!(new_resource.rabbitmqctl, 'list_policies', '-p', new_resource.vhost, '--formatter', 'json')
    JSON.parse(result.stdout).find { |p| p['name'] == new_resource.policy_name }
  end

  # The policy as set_policy_args would create it, in list_policies' shape.
  def wanted_policy
    args = new_resource.set_policy_args
    { 'pattern' => args[-2], 'definition' => JSON.parse(args[-1]),
      'apply-to' => args[args.index('--apply-to') + 1], 'priority' => args[args.index('--priority') + 1].to_i }
  end

  def policy_matches?(current)
    return false unless current
    definition = current['definition'].is_a?(String) ? JSON.parse(current['definition']) : current['definition']
    wanted_policy == current.slice('pattern', 'apply-to', 'priority').merge('definition' => definition)
  end
end

action :set do
  raise "deployer_rabbitmq_policy[#{new_resource.policy_name}]: set_policy_args is required for :set" unless new_resource.set_policy_args

  execute "rabbitmqctl set_policy #{new_resource.policy_name}" do
    command [new_resource.rabbitmqctl, *new_resource.set_policy_args]
    not_if { policy_matches?(current_policy) }
  end
end

action :clear do
  execute "rabbitmqctl clear_policy #{new_resource.policy_name}" do
    command [new_resource.rabbitmqctl, 'clear_policy', '-p', new_resource.vhost, new_resource.policy_name]
    only_if { current_policy }
  end
end
