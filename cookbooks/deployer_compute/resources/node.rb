# A compute node: nova-compute, nova-network and nova-api-metadata with multi-host networking.
provides :deployer_compute_node
unified_mode true

description 'Configures this node as a nova-network multi-host compute node'

property :packages, Array, default: lazy { node['deployer']['compute']['packages'].to_a },
         description: 'Packages of the compute services'
property :units, Array, default: lazy { node['deployer']['compute']['units'].to_a },
         description: 'systemd units run on every compute node (multi-host: each is its own gateway)'

action :create do
  deployer_openstack_service 'nova' do
    packages new_resource.packages
    units new_resource.units
  end
end
