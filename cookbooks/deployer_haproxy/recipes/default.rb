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

deployer_haproxy_config settings['config_file'] do
  binary settings['binary']
end

service 'haproxy' do
  action [:enable, :start]
  subscribes :reload, "deployer_haproxy_config[#{settings['config_file']}]", :delayed
end
