#
# Cookbook:: deployer_roles
# Recipe:: controller
#
# The OpenStack API services behind HAProxy (stateless, active on every controller).
%w(glance nova cinder).each do |service|
  deployer_openstack_service service
end
