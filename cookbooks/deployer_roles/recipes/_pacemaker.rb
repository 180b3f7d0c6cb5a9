#
# Cookbook:: deployer_roles
# Recipe:: _pacemaker
#
# The cluster stack and its one CIB. Included by every recipe that puts something under
# Pacemaker; what the CIB holds follows node['deployer']['pacemaker'] (set by roles).
deployer_pacemaker_cluster 'corosync'

deployer_pacemaker_cib 'cluster configuration' do
  action :apply
end
