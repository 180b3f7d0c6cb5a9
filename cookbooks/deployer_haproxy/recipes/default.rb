#
# Cookbook:: deployer_haproxy
# Recipe:: default
#
# HAProxy on a controller.  It binds the VIPs, which only one controller holds at
# a time, so the others need net.ipv4.ip_nonlocal_bind (haproxy -c does not
# catch a missing one: haproxy would exit at start with "cannot bind socket").
include_recipe 'deployer_common'

settings = node['deployer']['haproxy']

package 'haproxy'

sysctl 'net.ipv4.ip_nonlocal_bind' do
  value 1
  only_if { settings['nonlocal_bind'] }
end

# Started first (on Debian's stock file, which listens nowhere), then restarted at once when the
# real file lands: services and database clients connect through the VIP listeners later in
# this same run.  A restart, not a reload: a reload re-executes the master, which reports
# success even when it cannot bind a new listener and keeps the old ones.
service 'haproxy' do
  action [:enable, :start]
end

deployer_haproxy_config settings['config_file'] do
  binary settings['binary']
  notifies :restart, 'service[haproxy]', :immediately
end
