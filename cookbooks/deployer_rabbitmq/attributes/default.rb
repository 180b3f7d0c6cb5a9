# RabbitMQ on every controller, clustered; clients get the whole broker list
# (rabbit_hosts), so RabbitMQ is not behind HAProxy.

# The broker every other controller joins.  The deployer chooses it.
default['deployer']['rabbitmq']['seed_node'] = nil

# Erlang node names are rabbit@<controller name>, or rabbit@<controller address>
# with use_longname (no name resolution needed, e.g. nodes in network namespaces).
default['deployer']['rabbitmq']['use_longname'] = false

# Per-node settings; bind_address false means the controller's own address.
default['deployer']['rabbitmq']['bind_address'] = false
default['deployer']['rabbitmq']['port'] = 5672
default['deployer']['rabbitmq']['dist_port'] = 25672

default['deployer']['rabbitmq']['config_dir'] = '/etc/rabbitmq'
default['deployer']['rabbitmq']['cookie_file'] = '/var/lib/rabbitmq/.erlang.cookie'
default['deployer']['rabbitmq']['rabbitmqctl'] = '/usr/sbin/rabbitmqctl'

# nil: autoheal, or pause_minority for classic mirrored queues on 3 or more brokers (libraries/
# helpers.rb says why).  Never pause_minority on 2: it pauses the survivor of any failure
# ("fewer or equal than half" is a minority: S7).
default['deployer']['rabbitmq']['cluster_partition_handling'] = nil
default['deployer']['rabbitmq']['loopback_users'] = ['guest']
default['deployer']['rabbitmq']['log_level'] = 'info'

# Seconds until a silent peer is declared down.  Measured on a hung (SIGSTOPped)
# node: about 70 s of publish outage with Erlang's 60, 25 s with 15.
default['deployer']['rabbitmq']['net_ticktime'] = 15

# 'quorum' (default): oslo.messaging declares its RPC topic queues as quorum queues
# (rabbit_quorum_queue; replies and fanouts stay transient) and the mirroring policy is
# removed.  'classic_mirrored' (the origin): the HA policy below mirrors every non-amq.
# queue to all nodes (rabbit_ha_queues); classic mirroring is deprecated and gone in
# RabbitMQ 4.0.  Switch on a new deployment only: queues keep the type they were declared with.
default['deployer']['rabbitmq']['queue_type'] = 'quorum'
default['deployer']['rabbitmq']['ha_policy'] = {
  'name' => 'ha-all',
  'pattern' => '^(?!amq\.).*',
  # ha-sync-mode automatic: a restarted mirror resynchronises at once (measured:
  # without it a restarted node's mirror stayed unsynchronised).
  'definition' => { 'ha-mode' => 'all', 'ha-sync-mode' => 'automatic' },
  'priority' => 0,
  'apply_to' => 'queues',
}

# Service users; each password is the <service> key of the mq_passwords data bag item.
default['deployer']['rabbitmq']['vhost'] = '/'
# The services that use RPC (deployer_openstack's RPC_SERVICES); Keystone, Glance and Placement do not.
default['deployer']['rabbitmq']['users'] = %w(nova neutron cinder)
