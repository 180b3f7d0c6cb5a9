unified_mode true
provides :deployer_galera

use 'partial/_local_client'

description 'A Galera member: its config fragment (:create), starting a new cluster on the node the deployer chose (:bootstrap), or joining the running cluster (:join). A changed fragment does not restart a running member: Galera members restart one at a time, when the deployer rolls them'

property :cluster_name, String, name_property: true,
         description: 'Informational; the wsrep_cluster_name comes from node attributes'
property :bootstrap_node, String, required: [:bootstrap, :join],
         description: "Name of the node the deployer chose to start the cluster (node['deployer']['galera']['bootstrap_node'])"
property :service_name, String, default: 'mariadb'
property :start_timeout, Integer, default: 600,
         description: 'Seconds to wait for a joiner to reach Synced (SST of a large database takes long)'
property :config_file, String, default: lazy { node['deployer']['galera']['config_file'] },
         description: 'Path of the Galera config fragment'
property :mysql_group, String, default: lazy { node['deployer']['galera']['user'] },
         description: 'Group that may read the fragment: mariadbd runs as this user'
property :mariadbd, String, default: lazy { node['deployer']['galera']['mariadbd'] },
         description: 'mariadbd executable, which checks the new fragment before it replaces the old one'
property :config, Hash, sensitive: true,
         default: lazy { DeployerGalera::Helpers.galera_config(node.to_hash, deployer_secret_lookup) },
         description: 'Template variables of galera.cnf (holds the SST password)'

action_class do
  def in_primary_component?
    global_status('wsrep_cluster_status') == 'Primary'
  end

  def synced?
    global_status('wsrep_local_state_comment') == 'Synced'
  end
end

action :create do
  template new_resource.config_file do
    cookbook 'deployer_galera'
    source 'galera.cnf.erb'
    owner 'root'
    # mariadbd reads it as the mysql user; a file it cannot read is skipped without a word.
    group new_resource.mysql_group
    mode '0640'
    sensitive true
    variables new_resource.config
    # mariadbd parses the fragment as it would at start: unknown options and
    # wsrep misconfiguration (e.g. binlog_format) fail here, not at restart.
    verify "#{new_resource.mariadbd} --defaults-file=%{path} --help --verbose"
  end
end

action :bootstrap do
  unless new_resource.bootstrap_node == node.name
    raise "deployer_galera[#{new_resource.name}]: only #{new_resource.bootstrap_node} may bootstrap the cluster, not #{node.name}"
  end

  # Guarded: a re-run, or a cluster already formed, must never start a second one.
  execute 'galera_new_cluster' do
    command '/usr/bin/galera_new_cluster'
    not_if { in_primary_component? }
  end

  # A member that crashed or rebooted rejoins by itself: mariadb starts at boot and finds the
  # running cluster through gcomm://.  Not left to the package's preset (an image may ship it
  # disabled).  A whole-cluster outage still needs galera_new_cluster on the most advanced
  # node, as Galera requires.
  service new_resource.service_name do
    action :enable
  end
end

action :join do
  if new_resource.bootstrap_node == node.name
    raise "deployer_galera[#{new_resource.name}]: #{node.name} is the bootstrap node; it bootstraps, it does not join"
  end

  # restart, not start: the package may have started a standalone server that
  # never read the Galera fragment.
  service new_resource.service_name do
    action :restart
    not_if { in_primary_component? }
  end

  ruby_block 'wait for Galera to be Synced' do
    block do
      deadline = Time.now + new_resource.start_timeout
      sleep 2 until synced? || Time.now > deadline
      raise "Galera on #{node.name} is not Synced after #{new_resource.start_timeout}s (SST still running or failed)" unless synced?
    end
    not_if { synced? }
  end

  # started at boot, as on the bootstrap node
  service new_resource.service_name do
    action :enable
  end
end
