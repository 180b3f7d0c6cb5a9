# Corosync + Pacemaker membership of this node: packages, authkey, corosync.conf, services.
require 'base64'

provides :deployer_pacemaker_cluster
unified_mode true

description 'Joins this node to the Corosync/Pacemaker cluster formed by the controllers list'

property :config_path, String, default: '/etc/corosync/corosync.conf',
         description: 'Where corosync.conf is written'
property :packages, Array, default: %w(corosync pacemaker resource-agents),
         description: 'Packages that provide the cluster stack and the OCF agents'

action :create do
  package new_resource.packages

  # The authkey is shared by all members: it comes from the data bag, never from attributes.
  authkey = file node['deployer']['pacemaker']['authkey_path'] do
    content(lazy { Base64.strict_decode64(deployer_secret(node['deployer']['secrets']['data_bag'], 'corosync', 'authkey')) })
    owner 'root'
    group 'root'
    mode '0400'
    sensitive true
  end

  config = template new_resource.config_path do
    cookbook 'deployer_pacemaker'
    source 'corosync.conf.erb'
    variables DeployerPacemaker::Helpers.corosync_config(node.to_hash)
    owner 'root'
    group 'root'
    mode '0644'
    verify 'corosync -t -c %{path}'
  end

  # Restarted once both files are in place and before Pacemaker starts.  Not a delayed
  # notification: that would run after Pacemaker's first start and take it down with corosync
  # (Requires=), which on a booting cluster keeps the run waiting for minutes; nor an immediate
  # one from the authkey, which would start corosync on Debian's stock corosync.conf.
  service 'corosync (new configuration)' do
    service_name 'corosync'
    action :restart
    only_if { authkey.updated_by_last_action? || config.updated_by_last_action? }
  end

  service 'corosync' do
    action [:enable, :start]
  end

  service 'pacemaker' do
    action [:enable, :start]
  end
end
