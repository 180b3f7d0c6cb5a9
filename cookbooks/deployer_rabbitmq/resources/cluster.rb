unified_mode true
provides :deployer_rabbitmq_cluster

use 'partial/_rabbitmqctl'

description 'Joins this broker to the cluster of the seed broker the deployer chose (stop_app, join_cluster, start_app), unless it is already a member; then adds it to every quorum queue that lacks it'

property :seed_node, String, name_property: true,
         regex: /\A[^@\s]+@[^@\s]+\z/,
         description: 'Erlang node name of the seed broker, e.g. rabbit@ctl1'
property :local_node, String, regex: /\A[^@\s]+@[^@\s]+\z/,
         description: 'Erlang node name of this broker (rabbit@ctl2): the member quorum queues must have'
property :rabbitmq_queues, String, default: '/usr/sbin/rabbitmq-queues'

action_class do
  def member_of_seed_cluster?
    status = ctl_json('cluster_status')
    status ? DeployerRabbitmq::Helpers.cluster_member?(status, new_resource.seed_node) : false
  end

  # Names of the quorum queues that do not have this broker as a member.
  def quorum_queues_without_local_node
    queues = ctl_json('list_queues', 'name', 'type', 'members', '-q')
    queues ? DeployerRabbitmq::Helpers.quorum_queues_without(queues, new_resource.local_node) : []
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

  # A quorum queue's members are the cluster's nodes when it is declared, and stay so: a queue
  # the services declared while this broker had not joined yet has no replica here, and one
  # declared on a 1- or 2-node cluster stops (no majority) when a single broker dies.  Found
  # by `deployer certify` (kill the RPC queues' leader).  `rabbitmq-queues grow` adds this
  # broker to every quorum queue that lacks it; the last controller to converge completes all.
  if new_resource.local_node
    execute "rabbitmq-queues grow #{new_resource.local_node} all" do
      command [new_resource.rabbitmq_queues, 'grow', new_resource.local_node, 'all']
      only_if { quorum_queues_without_local_node.any? }
    end
  end
end
