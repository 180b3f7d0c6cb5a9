# Cluster-wide facts shared by every deployer cookbook.  The deployer fills
# them in through the Chef environment; these are only the empty defaults.

# Ordered controller list: [{'name' => 'ctl1', 'address' => '10.0.0.11'}, ...].
# The order decides primaries (Galera writer per listener, VRRP priority,
# RabbitMQ seed); it never comes from search.
default['deployer']['cluster']['controllers'] = []

# VIPs by cluster name:
# {'api' => {'address' => '10.0.0.100', 'prefix' => 24, 'interface' => 'eth0',
#            'virtual_router_id' => 51, 'auth_pass_item' => 'vrrp_api',
#            'segment' => 'mgmt' (optional L2 segment name, defaults to the interface)}}
default['deployer']['vips'] = {}

# Which VIP clusters carry the OpenStack APIs and the databases.
default['deployer']['cluster']['api_vip'] = 'api'
default['deployer']['cluster']['db_vip'] = 'db'

# Databases reached through HAProxy, one listener port each (origin: 3307 nova,
# 3308 keystone, 3309 glance ...).  The Galera cookbook creates database and
# user <service>; the HAProxy cookbook rotates the writer over these ports.
# Set an entry to false to leave that database out.  'databases' lists every
# schema the service's user owns behind that listener (default: the service name).
default['deployer']['databases'] = {
  'nova' => { 'port' => 3307, 'databases' => %w(nova nova_api) },
  'keystone' => { 'port' => 3308 },
  'glance' => { 'port' => 3309 },
  'cinder' => { 'port' => 3310 },
  'heat' => { 'port' => 3311 },
}

# Data bag holding every secret (items named in the attributes above and in
# the service cookbooks).  Set secret_file to read encrypted data bag items.
default['deployer']['secrets']['data_bag'] = 'deployer_secrets'
default['deployer']['secrets']['secret_file'] = nil
