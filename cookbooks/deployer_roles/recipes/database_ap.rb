#
# Cookbook:: deployer_roles
# Recipe:: database_ap
#
# Active/passive MySQL on DRBD (the origin's crm_mon picture): DRBD below, Pacemaker moves
# file system, VIP and mysqld together. The first controller seeds the initial DRBD sync.
include_recipe 'deployer_common'

package 'mariadb-server'

# F7: Debian's 50-server.cnf binds 127.0.0.1; the services connect to the DB VIP.  mariadbd reads
# the fragment as mysql, and checks it before it replaces the old one.
template node['deployer']['drbd_mysql']['mysqld_config'] do
  cookbook 'deployer_galera'
  source 'galera.cnf.erb'
  owner 'root'
  group 'mysql'
  mode '0640'
  variables DeployerDrbdMysql::Helpers.mysqld_config(node.to_hash)
  verify '/usr/sbin/mariadbd --defaults-file=%{path} --help --verbose'
end

mysql_unit = node['deployer']['drbd_mysql']['service']

# Pacemaker starts mysqld where the promoted DRBD copy is; systemd must not start it at boot.
service "#{mysql_unit} (systemd boot)" do
  service_name mysql_unit
  action :disable
end

# The package starts it on the local data directory: stop it before the DRBD file system is
# mounted over that directory, unless Pacemaker already runs it here.
service "#{mysql_unit} (outside Pacemaker)" do
  service_name mysql_unit
  action :stop
  not_if "crm_resource --resource mysqld --locate 2>/dev/null | grep -qw #{node.name}"
end

first = DeployerPacemaker::Helpers.cib_writer?(node.to_hash)

deployer_drbd_mysql node['deployer']['drbd_mysql']['resource'] do
  bootstrap first
end

include_recipe 'deployer_roles::_pacemaker'

# The first node creates the OpenStack databases once Pacemaker runs mysqld on it
# (same SQL and secrets as the Galera topology).
execute 'wait for Pacemaker to start mysqld here' do
  command "crm_resource --resource mysqld --locate | grep -qw #{node.name}"
  retries 24
  retry_delay 5
  only_if { first }
end

deployer_galera_databases 'openstack' do
  only_if { first }
end
