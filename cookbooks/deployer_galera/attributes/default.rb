# MariaDB + Galera on every controller (members: node['deployer']['cluster']['controllers']).

default['deployer']['galera']['config_file'] = '/etc/mysql/mariadb.conf.d/60-galera.cnf'
default['deployer']['galera']['mariadbd'] = '/usr/sbin/mariadbd'
default['deployer']['galera']['client'] = '/usr/bin/mariadb'
default['deployer']['galera']['cluster_name'] = 'openstack'

# The node that runs galera_new_cluster.  The deployer chooses it (never the
# first node a search finds); every other controller joins.
default['deployer']['galera']['bootstrap_node'] = nil

default['deployer']['galera']['wsrep_provider'] = '/usr/lib/galera/libgalera_smm.so'
# rsync needs no credentials; mariabackup reads the 'sst' key of the mysql item.
default['deployer']['galera']['sst_method'] = 'rsync'
default['deployer']['galera']['sst_user'] = 'mariabackup'

# Per-node settings, overridable per node (e.g. several nodes in network
# namespaces on one test host).  bind_address false: the controller's address.
default['deployer']['galera']['bind_address'] = false
default['deployer']['galera']['port'] = 3306
default['deployer']['galera']['group_port'] = 4567
default['deployer']['galera']['ist_port'] = 4568
default['deployer']['galera']['sst_port'] = 4444
default['deployer']['galera']['user'] = 'mysql'
default['deployer']['galera']['datadir'] = '/var/lib/mysql'
default['deployer']['galera']['socket'] = '/run/mysqld/mysqld.sock'
default['deployer']['galera']['pid_file'] = '/run/mysqld/mysqld.pid'
default['deployer']['galera']['log_error'] = false

# Origin's performance settings (table_cache is table_open_cache in MariaDB 10.x).
# Lower the sizes for test hosts.
default['deployer']['galera']['tuning'] = {
  'max_connections' => 1000,
  'key_buffer_size' => '2048M',
  'innodb_buffer_pool_size' => '4096M',
  'thread_cache_size' => 32,
  'table_open_cache' => 1024,
}

# Any further [mysqld] options and Galera provider options, by name.
default['deployer']['galera']['mysqld_options'] = {}
# Evict a dead member in about 1.5-3 s instead of Galera's 5-15 s (evs.suspect_timeout PT5S,
# inactive_timeout PT15S): until then the writes HAProxy moved to a survivor wait for the new
# view (measured: 6.3 s of write outage after a kill -9 of the writer, 2.9 s with these).
default['deployer']['galera']['provider_options'] = {
  'evs.keepalive_period' => 'PT0.5S', 'evs.suspect_timeout' => 'PT1.5S',
  'evs.inactive_check_period' => 'PT0.5S', 'evs.inactive_timeout' => 'PT3S',
}

# HAProxy's health-check user: no password, USAGE only, from each controller.
default['deployer']['galera']['check_user'] = 'haproxy_check'
