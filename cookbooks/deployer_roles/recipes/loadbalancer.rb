#
# Cookbook:: deployer_roles
# Recipe:: loadbalancer
#
# HAProxy in front of the APIs and Galera, on VIPs that keepalived moves.  HAProxy comes first:
# keepalived's track script polls it.
include_recipe 'deployer_common'

haproxy = node['deployer']['haproxy']
keepalived = node['deployer']['keepalived']

package 'haproxy'

# It binds the VIPs, which only one controller holds at a time, so the others need
# net.ipv4.ip_nonlocal_bind (haproxy -c does not catch a missing one: haproxy would exit at
# start with "cannot bind socket").
sysctl 'net.ipv4.ip_nonlocal_bind' do
  value 1
  only_if { haproxy['nonlocal_bind'] }
end

# Started first (on Debian's stock file, which listens nowhere), then restarted at once when the
# real file lands: services and database clients connect through the VIP listeners later in
# this same run.  A restart, not a reload: a reload re-executes the master, which reports
# success even when it cannot bind a new listener and keeps the old ones.
service 'haproxy' do
  action [:enable, :start]
end

deployer_haproxy_config haproxy['config_file'] do
  binary haproxy['binary']
  notifies :restart, 'service[haproxy]', :immediately
end

package keepalived['packages']

deployer_keepalived_config keepalived['config_file'] do
  binary keepalived['binary']
end

service 'keepalived' do
  action [:enable, :start]
  subscribes :reload, "deployer_keepalived_config[#{keepalived['config_file']}]", :delayed
end
