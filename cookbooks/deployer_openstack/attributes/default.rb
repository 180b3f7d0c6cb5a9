# OpenStack services. Attribute path == INI path: node['deployer']['openstack'][svc]['conf'][section][key].
# Connections (SQL, messaging, Keystone) are computed at converge time from the VIPs and the
# explicit cluster lists (libraries/helpers.rb); secrets come from the deployer data bag.
default['deployer']['openstack']['region'] = 'RegionOne'
default['deployer']['openstack']['scheme'] = 'http'

# SQL: each service reaches Galera through its own HAProxy port on the db VIP
# (deployer_common's node['deployer']['databases'] and node['deployer']['cluster']['db_vip']).
# nova's API database shares nova's listener.
default['deployer']['openstack']['database']['driver'] = 'mysql+pymysql'

# RabbitMQ: every broker of node['deployer']['cluster']['controllers'], HA queues or quorum queues
# as node['deployer']['rabbitmq'] says (deployer_rabbitmq), so clients and brokers agree.

# Keystone catalog: each service is registered on the VIP that fronts it: 'vip' (a key of
# node['deployer']['vips']) when set, else node['deployer']['cluster']['api_vip'];
# 'vips' => {'public' => ...} gives one interface its own VIP.
default['deployer']['openstack']['endpoints'] = {
  'keystone' => { 'type' => 'identity', 'description' => 'OpenStack Identity', 'port' => 5000, 'path' => '/v3' },
  'nova' => { 'type' => 'compute', 'description' => 'OpenStack Compute', 'port' => 8774, 'path' => '/v2.1' },
  'glance' => { 'type' => 'image', 'description' => 'OpenStack Image', 'port' => 9292, 'path' => '' },
  'cinder' => { 'type' => 'volumev3', 'description' => 'OpenStack Block Storage', 'port' => 8776, 'path' => '/v3/%(project_id)s' },
}
default['deployer']['openstack']['admin']['user'] = 'admin'
default['deployer']['openstack']['admin']['project'] = 'admin'
default['deployer']['openstack']['service_project'] = 'service'

# Baseline configuration per service (merged under the computed connection settings).
default['deployer']['openstack']['keystone']['conf'] = {
  'token' => { 'provider' => 'fernet' },
}
default['deployer']['openstack']['glance']['conf'] = {
  'glance_store' => { 'stores' => 'file,http', 'default_store' => 'file', 'filesystem_store_datadir' => '/var/lib/glance/images/' },
}
# nova-network multi-host (origin): every compute node is its own gateway, so a compute failure
# affects only its own VMs. One nova.conf for controllers and computes (network_manager and my_ip
# are added at converge time from the environment's network block and the node's address).
default['deployer']['openstack']['nova']['conf'] = {
  'DEFAULT' => {
    'state_path' => '/var/lib/nova',
    'multi_host' => true,
    'send_arp_for_ha' => true,
    'update_dns_entries' => true,
    'dns_update_periodic_interval' => 60,
  },
  'oslo_concurrency' => { 'lock_path' => '/var/lib/nova/tmp' },
}
default['deployer']['openstack']['cinder']['conf'] = {
  'DEFAULT' => { 'state_path' => '/var/lib/cinder' },
  'oslo_concurrency' => { 'lock_path' => '/var/lib/cinder/tmp' },
}

# Packages and systemd units per service on a controller.
default['deployer']['openstack']['keystone']['packages'] = %w(keystone python3-openstackclient)
default['deployer']['openstack']['keystone']['units'] = %w(apache2)
default['deployer']['openstack']['glance']['packages'] = %w(glance)
default['deployer']['openstack']['glance']['units'] = %w(glance-api)
default['deployer']['openstack']['nova']['packages'] = %w(nova-api nova-conductor nova-scheduler nova-novncproxy)
# The scheduler and conductor are left to Pacemaker (A/P); only the API runs everywhere.
default['deployer']['openstack']['nova']['units'] = %w(nova-api nova-novncproxy)
default['deployer']['openstack']['cinder']['packages'] = %w(cinder-api cinder-scheduler)
default['deployer']['openstack']['cinder']['units'] = %w(cinder-api)

# Set by the Chef environment (the origin's "network" block: NETWORK_TYPE, NETWORK_MANAGER).
default['deployer']['network']['service_type'] = 'nova-network'
default['deployer']['network']['network_manager'] = 'nova.network.manager.FlatDHCPManager'
