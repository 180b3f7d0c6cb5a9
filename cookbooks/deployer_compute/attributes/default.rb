# nova-network multi-host (origin): no single network node; a compute failure affects only its own VMs.
# Layered over deployer_openstack's nova configuration on compute nodes only.
default['deployer']['compute']['nova']['conf'] = {
  'DEFAULT' => {
    'multi_host' => true,
    'send_arp_for_ha' => true,
    'update_dns_entries' => true,
    'dns_update_periodic_interval' => 60,
  },
}
default['deployer']['compute']['packages'] = %w(nova-compute nova-network nova-api-metadata)
default['deployer']['compute']['units'] = %w(nova-compute nova-network nova-api-metadata)

# Set by the Chef environment (the origin's "network" block): NETWORK_TYPE, NETWORK_MANAGER.
default['deployer']['network']['service_type'] = 'nova-network'
default['deployer']['network']['network_manager'] = 'nova.network.manager.FlatDHCPManager'
