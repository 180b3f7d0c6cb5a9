#
# Cookbook:: deployer_keepalived
# Recipe:: default
#
# keepalived moves the VIPs between controllers; HAProxy (deployer_haproxy)
# must be there first, since the track script polls it.
include_recipe 'deployer_common'
include_recipe 'deployer_haproxy'

settings = node['deployer']['keepalived']

package settings['packages']

deployer_keepalived_config settings['config_file'] do
  binary settings['binary']
end

service 'keepalived' do
  action [:enable, :start]
  subscribes :reload, "deployer_keepalived_config[#{settings['config_file']}]", :delayed
end
