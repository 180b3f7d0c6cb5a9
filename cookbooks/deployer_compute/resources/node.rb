# A compute node: an OVN chassis, nova-compute and the OVN metadata agent.
provides :deployer_compute_node
unified_mode true

description 'Configures this node as a compute node of a Neutron ML2/OVN cloud'

property :packages, Array, default: lazy { node['deployer']['compute']['packages'].to_a },
         description: 'Packages of the compute services'
property :units, Array, default: lazy { DeployerCompute::Helpers.units(node.to_hash) },
         description: 'systemd units run on every compute node'

action :create do
  deployer_ovn_chassis 'chassis'

  package new_resource.packages

  files = DeployerCompute::Helpers.config_files(node.to_hash, deployer_secret_lookup)
  files.each do |path, file|
    deployer_service_config path do
      config file['sections']
      group file['group']
      mode '0640'
    end
  end

  # Each unit restarts for the files of its own service (nova-* for nova's, neutron-* for neutron's).
  new_resource.units.each do |unit|
    service unit do
      action [:enable, :start]
      files.each do |path, file|
        subscribes :restart, "deployer_service_config[#{path}]", :delayed if unit.start_with?("#{file['group']}-")
      end
    end
  end
end
