# OpenStack services as Debian 12 packages them (Zed: keystone 22, glance 25, placement 8,
# nova 26, neutron 21, cinder 21).  Attribute path == INI path for the baseline options:
# node['deployer']['openstack'][svc]['conf'][section][key].  Connections (SQL, messaging,
# Keystone, the node's own address) are computed at converge time from the VIPs and the
# explicit cluster lists (libraries/helpers.rb); secrets come from the deployer data bag.
default['deployer']['openstack']['region'] = 'RegionOne'
default['deployer']['openstack']['scheme'] = 'http'

# SQL: each service reaches Galera through its own HAProxy port on the db VIP
# (deployer_common's node['deployer']['databases'] and node['deployer']['cluster']['db_vip']).
default['deployer']['openstack']['database']['driver'] = 'mysql+pymysql'

# Keystone catalog: each service is registered on the VIP that fronts it: 'vip' (a key of
# node['deployer']['vips']) when set, else node['deployer']['cluster']['api_vip'];
# 'vips' => {'public' => ...} gives one interface its own VIP.  Set a service to false to
# leave it out of the catalog.
default['deployer']['openstack']['endpoints'] = {
  'keystone' => { 'type' => 'identity', 'description' => 'OpenStack Identity', 'port' => 5000, 'path' => '/v3' },
  'glance' => { 'type' => 'image', 'description' => 'OpenStack Image', 'port' => 9292, 'path' => '' },
  'placement' => { 'type' => 'placement', 'description' => 'OpenStack Placement', 'port' => 8778, 'path' => '' },
  'nova' => { 'type' => 'compute', 'description' => 'OpenStack Compute', 'port' => 8774, 'path' => '/v2.1' },
  'neutron' => { 'type' => 'network', 'description' => 'OpenStack Networking', 'port' => 9696, 'path' => '' },
  'cinder' => { 'type' => 'volumev3', 'description' => 'OpenStack Block Storage', 'port' => 8776, 'path' => '/v3/%(project_id)s' },
}
default['deployer']['openstack']['admin']['user'] = 'admin'
default['deployer']['openstack']['admin']['project'] = 'admin'
# Service users (one per service in the catalog but keystone) get this role on this project.
# Address the API services listen on.  nil: this node's own address (HAProxy holds the VIP's
# ports on the same node: F4).  The active/passive roles set 0.0.0.0: there Pacemaker moves the
# API VIP (IPaddr2) between the two nodes and no HAProxy sits in front of the services.
default['deployer']['openstack']['bind_address'] = nil
default['deployer']['openstack']['service_project'] = 'service'
default['deployer']['openstack']['service_role'] = 'admin'

# Packages, the file each service reads, and the systemd units a controller runs.  Debian runs
# the APIs under uwsgi (below), glance-api and the agents as plain daemons.
default['deployer']['openstack']['keystone']['packages'] = %w(keystone python3-openstackclient)
default['deployer']['openstack']['keystone']['config_file'] = '/etc/keystone/keystone.conf'
default['deployer']['openstack']['keystone']['units'] = %w(keystone)
default['deployer']['openstack']['glance']['packages'] = %w(glance-api)
default['deployer']['openstack']['glance']['config_file'] = '/etc/glance/glance-api.conf'
default['deployer']['openstack']['glance']['units'] = %w(glance-api)
default['deployer']['openstack']['placement']['packages'] = %w(placement-api)
default['deployer']['openstack']['placement']['config_file'] = '/etc/placement/placement.conf'
default['deployer']['openstack']['placement']['units'] = %w(placement-api)
# nova-consoleproxy is the one provider of Debian's virtual nova-novncproxy.
default['deployer']['openstack']['nova']['packages'] = %w(nova-api nova-conductor nova-scheduler nova-consoleproxy)
default['deployer']['openstack']['nova']['config_file'] = '/etc/nova/nova.conf'
# The scheduler and conductor are left to Pacemaker (A/P); the APIs run everywhere.
default['deployer']['openstack']['nova']['units'] = %w(nova-api nova-api-metadata nova-novncproxy)
# Shell variables files Debian's init scripts source, per service.  nova-consoleproxy defaults
# to the SPICE proxy, and nova-novncproxy's script exits at once (status 0) unless it says novnc.
default['deployer']['openstack']['nova']['defaults_files'] = {
  '/etc/default/nova-consoleproxy' => { 'NOVA_CONSOLE_PROXY_TYPE' => 'novnc', 'NOVA_SERIAL_PROXY_START' => 'false' },
}
# Neutron runs as its eventlet server (neutron-common's /usr/bin/neutron-server, a unit the cookbook
# writes): in Zed only that server registers the OVN hash ring and starts the OVN maintenance
# worker; Debian's uwsgi neutron-api never does, and its API workers then wait forever on their
# first OVN call (measured: `openstack network create` hangs).  Debian's neutron-api and
# neutron-rpc-server units are stopped and disabled where a package installed them.
default['deployer']['openstack']['neutron']['packages'] = %w(neutron-common)
default['deployer']['openstack']['neutron']['config_file'] = '/etc/neutron/neutron.conf'
default['deployer']['openstack']['neutron']['ml2_file'] = '/etc/neutron/plugins/ml2/ml2_conf.ini'
default['deployer']['openstack']['neutron']['units'] = %w(neutron-server)
default['deployer']['openstack']['neutron']['replaced_units'] = %w(neutron-api neutron-rpc-server)
default['deployer']['openstack']['neutron']['bind_port'] = 9696
default['deployer']['openstack']['cinder']['packages'] = %w(cinder-api cinder-scheduler)
default['deployer']['openstack']['cinder']['config_file'] = '/etc/cinder/cinder.conf'
default['deployer']['openstack']['cinder']['units'] = %w(cinder-api)

# Debian's uwsgi init scripts bind every address (--http-socket :PORT) unless
# /etc/default/<name> sets DAEMON_ARGS; the cookbook writes it so each API binds only this
# node's management address and HAProxy can own the same port on the VIP.  'processes' nil
# gives each API min(CPUs, 5) processes, as Kolla-Ansible's openstack_service_workers does:
# the packages' inis ask for 8 or 16 each whatever the server (about 56 uwsgi processes and
# 3.5 GB per controller); set a number to override.
default['deployer']['openstack']['uwsgi']['processes'] = nil
default['deployer']['openstack']['uwsgi']['max_default_processes'] = 5
default['deployer']['openstack']['uwsgi']['apps'] = {
  'keystone' => { 'port' => 5000, 'ini' => '/etc/keystone/keystone-uwsgi.ini', 'defaults_file' => '/etc/default/keystone' },
  'placement-api' => { 'port' => 8778, 'ini' => '/etc/placement/placement-api-uwsgi.ini', 'defaults_file' => '/etc/default/placement-api' },
  'nova-api' => { 'port' => 8774, 'ini' => '/etc/nova/nova-api-uwsgi.ini', 'defaults_file' => '/etc/default/nova-api' },
  'nova-api-metadata' => { 'port' => 8775, 'ini' => '/etc/nova/nova-api-metadata-uwsgi.ini', 'defaults_file' => '/etc/default/nova-api-metadata' },
  'cinder-api' => { 'port' => 8776, 'ini' => '/etc/cinder/cinder-api-uwsgi.ini', 'defaults_file' => '/etc/default/cinder-api' },
}
# Units the cookbook writes itself (/etc/systemd/system/<name>.service), for daemons Debian ships
# without the unit a role needs.
default['deployer']['openstack']['systemd_units'] = {
  'neutron-server' => {
    'description' => 'OpenStack Neutron server (eventlet: API, RPC and OVN maintenance workers)',
    'user' => 'neutron',
    'exec_start' => '/usr/bin/neutron-server --config-file=/etc/neutron/neutron.conf ' \
                    '--config-file=/etc/neutron/plugins/ml2/ml2_conf.ini --log-file=/var/log/neutron/neutron-server.log',
    'after' => 'network-online.target mariadb.service rabbitmq-server.service ovn-central.service',
  },
}
# Ports of the services that bind through their own configuration.
default['deployer']['openstack']['glance']['bind_port'] = 9292
default['deployer']['openstack']['nova']['novncproxy_port'] = 6080

# Schema migrations, run on the leader only (the first controller, converged first) and again
# only when the package that carries the migrations changes version (a marker file per service).
default['deployer']['openstack']['db_sync_marker_dir'] = '/var/lib/deployer/db-sync'
default['deployer']['openstack']['db_sync'] = {
  'keystone' => { 'package' => 'python3-keystone', 'user' => 'keystone', 'command' => 'keystone-manage db_sync' },
  'glance' => { 'package' => 'python3-glance', 'user' => 'glance', 'command' => 'glance-manage db_sync' },
  'placement' => { 'package' => 'python3-placement', 'user' => 'placement', 'command' => 'placement-manage db sync' },
  # api_db first (cells live there), cell0 and cell1 mapped once, then the cell database.
  'nova' => { 'package' => 'python3-nova', 'user' => 'nova',
              'command' => 'nova-manage api_db sync && nova-manage cell_v2 map_cell0 && ' \
                           '{ nova-manage cell_v2 list_cells | grep -qw cell1 || nova-manage cell_v2 create_cell --name cell1 --verbose; } && ' \
                           'nova-manage db sync' },
  'neutron' => { 'package' => 'python3-neutron', 'user' => 'neutron',
                 'command' => 'neutron-db-manage --config-file /etc/neutron/neutron.conf ' \
                              '--config-file /etc/neutron/plugins/ml2/ml2_conf.ini upgrade heads' },
  'cinder' => { 'package' => 'python3-cinder', 'user' => 'cinder', 'command' => 'cinder-manage db sync' },
}

# Baseline configuration per service (merged under the computed settings).
default['deployer']['openstack']['keystone']['conf'] = {
  'token' => { 'provider' => 'fernet' },
}
default['deployer']['openstack']['glance']['conf'] = {
  'paste_deploy' => { 'flavor' => 'keystone' },
  'glance_store' => { 'stores' => 'file,http', 'default_store' => 'file', 'filesystem_store_datadir' => '/var/lib/glance/images/' },
}
default['deployer']['openstack']['placement']['conf'] = {
  'api' => { 'auth_strategy' => 'keystone' },
}
# nova's [api] auth_strategy is keystone by default and deprecated for removal (the lint warns).
default['deployer']['openstack']['nova']['conf'] = {
  'DEFAULT' => { 'state_path' => '/var/lib/nova' },
  'vnc' => { 'enabled' => true },
  'oslo_concurrency' => { 'lock_path' => '/var/lib/nova/tmp' },
  # New computes are mapped into cell1 by the scheduler, no nova-manage per compute.
  'scheduler' => { 'discover_hosts_in_cells_interval' => 30 },
}
default['deployer']['openstack']['neutron']['conf'] = {
  'DEFAULT' => {
    'core_plugin' => 'ml2',
    'service_plugins' => 'ovn-router',
    'auth_strategy' => 'keystone',
    'notify_nova_on_port_status_changes' => true,
    'notify_nova_on_port_data_changes' => true,
  },
  'agent' => { 'root_helper' => 'sudo neutron-rootwrap /etc/neutron/rootwrap.conf' },
  'oslo_concurrency' => { 'lock_path' => '/var/lib/neutron/tmp' },
}
# ML2 with OVN (the ovn section is computed from the OVN central addresses): tenant networks are
# Geneve overlays, and floating IPs are distributed, so each compute is its own gateway (what
# the origin's nova-network multi-host gave).
default['deployer']['openstack']['neutron']['ml2_conf'] = {
  'ml2' => {
    'type_drivers' => 'local,flat,vlan,geneve',
    'tenant_network_types' => 'geneve',
    'mechanism_drivers' => 'ovn',
    'extension_drivers' => 'port_security',
    'overlay_ip_version' => 4,
  },
  'ml2_type_geneve' => { 'vni_ranges' => '1:65536', 'max_header_size' => 38 },
  'ml2_type_flat' => { 'flat_networks' => '*' },
  'securitygroup' => { 'enable_security_group' => true },
  'ovn' => { 'ovn_metadata_enabled' => true, 'enable_distributed_floating_ip' => true, 'ovn_l3_scheduler' => 'leastloaded' },
}
default['deployer']['openstack']['cinder']['conf'] = {
  'DEFAULT' => { 'state_path' => '/var/lib/cinder', 'auth_strategy' => 'keystone' },
  'oslo_concurrency' => { 'lock_path' => '/var/lib/cinder/tmp' },
}

# The environment's network block (the origin's NETWORK_TYPE): Neutron ML2/OVN is the only
# network service Zed has; nova-network was removed from nova in Ussuri (21.0.0).
default['deployer']['network']['service_type'] = 'ovn'
