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

# rabbitmq-partition-check.timer on every broker of a cluster of two or more: a broker that
# finds the others running without it (a split the partition handling left, seen after a
# controller hung longer than net_ticktime) restarts its rabbit app after `confirmations`
# checks `interval` seconds apart.  Each check starts rabbitmqctl (an Erlang VM, about 0.8 s of
# CPU): every 30 s it costs a controller under 3 % of a core.  enabled false removes it.
default['deployer']['rabbitmq']['partition_check'] = { 'enabled' => true, 'interval' => 30, 'confirmations' => 2 }

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

# oslo.messaging's reconnection ([oslo_messaging_rabbit] of every RPC service).  Its defaults
# (kombu_reconnect_delay 1.0 on top of retries backing off 1, 3, 5 ... s up to 30) kept
# RPC down 4-8 s after nova-conductor's own broker was killed (certify): each try that
# lands on a broker still restarting costs the delay plus a growing interval.  These retry
# every 1, 2, 3 ... s (at most 5) after a 0.2 s delay; heartbeat_timeout_threshold 20 (60)
# lets a client leave a hung broker, whose connections stay open, within a freeze.
# false (in an environment) restores oslo.messaging's defaults.
default['deployer']['rabbitmq']['client'] = {
  'kombu_reconnect_delay' => 0.2,
  'rabbit_retry_interval' => 1,
  'rabbit_retry_backoff' => 1,
  'rabbit_interval_max' => 5,
  'heartbeat_timeout_threshold' => 20,
}

# Service users; each password is the <service> key of the mq_passwords data bag item.
default['deployer']['rabbitmq']['vhost'] = '/'
# The services that use RPC (deployer_openstack's RPC_SERVICES); Keystone, Glance and Placement do not.
default['deployer']['rabbitmq']['users'] = %w(nova neutron cinder)
