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
  'nova' => { 'port' => 3307, 'databases' => %w(nova nova_api nova_cell0) },
  'keystone' => { 'port' => 3308 },
  'glance' => { 'port' => 3309 },
  'cinder' => { 'port' => 3310 },
  'placement' => { 'port' => 3311 },
  'neutron' => { 'port' => 3312 },
}

# Data bag holding every secret; README.md lists its items and keys.  Encrypted items are
# decrypted with the secret file client.rb names (encrypted_data_bag_secret).
default['deployer']['secrets']['data_bag'] = 'deployer_secrets'

# The Chef node name becomes the server's hostname (the templates' node names are "its
# hostname"): Open vSwitch records the system hostname as the OVN chassis hostname at every
# start (ovs-record-hostname), and RabbitMQ's short names, corosync and DRBD's `on <name>`
# expect it.  false leaves the hostname to the site, which must then match the node name.
default['deployer']['set_hostname'] = true

# /etc/hosts names every controller (and this node) with its cluster address, so short names
# (RabbitMQ's rabbit@<name>, corosync, DRBD peers) resolve to the address the daemons bind,
# not to Debian's 127.0.1.1 line.  false leaves /etc/hosts to the site (DNS).
default['deployer']['hosts_file'] = '/etc/hosts'
