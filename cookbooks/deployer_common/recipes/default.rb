#
# Cookbook:: deployer_common
# Recipe:: default
#
# Fails the run early, with the offending attribute named, when the cluster
# facts the deployer passed are unusable: a bad controllers list, or VIPs whose
# virtual_router_ids collide on one L2 segment.  Then names the server after its node
# and makes the nodes' names resolve to their cluster addresses.
require 'socket'

attributes = node.to_hash
DeployerCommon::Cluster.controllers(attributes)
DeployerCommon::Vrrp.check_unique_vrids!(attributes['deployer']['vips'])

if node['deployer']['set_hostname']
  DeployerCommon::Helpers.check_hostname!(node.name)

  file '/etc/hostname' do
    content "#{node.name}\n"
    owner 'root'
    group 'root'
    mode '0644'
  end

  execute "hostname #{node.name}" do
    command ['hostname', node.name]
    not_if { Socket.gethostname == node.name }
  end
end

if node['deployer']['hosts_file']
  template node['deployer']['hosts_file'] do
    cookbook 'deployer_common'
    source 'hosts.erb'
    owner 'root'
    group 'root'
    mode '0644'
    variables DeployerCommon::Helpers.hosts_file(attributes)
  end
end
