unified_mode true
provides :deployer_rabbitmq_cluster

description 'Joins this broker to the cluster of the seed broker the deployer chose (stop_app, join_cluster, start_app), unless it is already a member'

property :seed_node, String, name_property: true,
         regex: /\A[^@\s]+@[^@\s]+\z/,
         description: 'Erlang node name of the seed broker, e.g. rabbit@ctl1'
property :rabbitmqctl, String, default: '/usr/sbin/rabbitmqctl'

action_class do
  def member_of_seed_cluster?
    result = shell_out(new_resource.rabbitmqctl, 'cluster_status', '--formatter', 'json')
    result.exitstatus.zero? && DeployerRabbitmq::Helpers.cluster_member?(JSON.parse(result.stdout), new_resource.seed_node)
  rescue JSON::ParserError
    false
  end
end

action :join do
  # Checked once, at converge time: after stop_app the status no longer shows membership.
  unless member_of_seed_cluster?
    ctl = new_resource.rabbitmqctl
    [['stop_app'], ['join_cluster', new_resource.seed_node], ['start_app']].each do |args|
      execute "rabbitmqctl #{args.join(' ')}" do
        command [ctl, *args]
      end
    end
  end
end
