# A nova-network multi-host compute node runs its own network and metadata services (origin:
# openstack-nova-compute, openstack-nova-network, openstack-nova-api-metadata). Its nova.conf is
# deployer_openstack's, the same as on the controllers.
default['deployer']['compute']['packages'] = %w(nova-compute nova-network nova-api-metadata)
default['deployer']['compute']['units'] = %w(nova-compute nova-network nova-api-metadata)
