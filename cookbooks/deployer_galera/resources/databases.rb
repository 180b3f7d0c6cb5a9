unified_mode true
provides :deployer_galera_databases

use 'partial/_local_client'

description 'OpenStack service databases and users, the haproxy_check user and the SST user; run on the bootstrap node, Galera replicates them'

property :instance_name, String, name_property: true
property :sst_method, String, default: lazy { node['deployer']['galera']['sst_method'] },
         description: 'mariabackup needs its SST user; rsync needs none'

action_class do
  # Passwords read at converge time; the SQL is piped on stdin, never argv.
  def database_sql
    bag = node['deployer']['secrets']['data_bag']
    passwords = DeployerCommon::Cluster.databases(node.to_hash).keys.to_h { |service| [service, deployer_secret(bag, 'db_passwords', service)] }
    sst = new_resource.sst_method == 'mariabackup' ? deployer_secret(bag, 'mysql', 'sst') : nil
    DeployerGalera::Helpers.database_sql(node.to_hash, passwords, sst)
  end
end

action :create do
  sql = database_sql

  execute 'create OpenStack databases and users' do
    command client_command
    input sql['apply']
    sensitive true
    not_if { shell_out(*client_command, input: sql['check']).stdout.strip == '1' }
  end
end
