# One OpenStack service on this node: packages, its configuration file, its systemd units.
provides :deployer_openstack_service
unified_mode true

description 'Installs an OpenStack service, writes its configuration (connections on the VIPs) and runs its units'

property :service, String, name_property: true, equal_to: DeployerOpenstack::Helpers::SERVICES,
         description: 'keystone, glance, nova or cinder'
property :config_path, String, default: lazy { "/etc/#{service}/#{service}.conf" },
         description: 'The configuration file to write'
property :packages, Array, default: lazy { node['deployer']['openstack'][service]['packages'].to_a },
         description: 'Packages to install'
property :units, Array, default: lazy { node['deployer']['openstack'][service]['units'].to_a },
         description: 'systemd units to enable, start and restart on configuration change'

action :create do
  package new_resource.packages unless new_resource.packages.empty?

  # The action body runs at converge time: the passwords are read then and never become attributes.
  deployer_service_config new_resource.config_path do
    config DeployerOpenstack::Helpers.sections(new_resource.service, node.to_hash, deployer_secret_lookup)
    group new_resource.service
    mode '0640'
  end

  new_resource.units.each do |unit|
    service unit do
      action [:enable, :start]
      subscribes :restart, "deployer_service_config[#{new_resource.config_path}]", :delayed
    end
  end
end
