# One OpenStack service on a controller: packages, the files it reads, its schema (on the leader),
# and its systemd units bound to this node's own address.
provides :deployer_openstack_service
unified_mode true

description 'Installs an OpenStack service, writes its configuration (connections on the VIPs), migrates its schema on the leader and runs its units'

property :service, String, name_property: true, equal_to: DeployerOpenstack::Helpers::SERVICES,
         description: 'keystone, glance, placement, nova, neutron or cinder'
property :packages, Array, default: lazy { node['deployer']['openstack'][service]['packages'].to_a },
         description: 'Packages to install'
property :units, Array, default: lazy { node['deployer']['openstack'][service]['units'].to_a },
         description: 'systemd units to enable, start and restart on configuration change'
property :db_sync, [true, false], default: lazy { DeployerCommon::Cluster.leader?(node.to_hash) },
         description: 'Run the schema migrations (once per deployment: on the leader)'

action :create do
  service_key = new_resource.service
  attributes = node.to_hash
  package new_resource.packages unless new_resource.packages.empty?

  # The action body runs at converge time: the passwords are read then and never become attributes.
  files = DeployerOpenstack::Helpers.config_files(service_key, attributes, deployer_secret_lookup)
  files.each do |path, sections|
    deployer_service_config path do
      config sections
      group service_key
      mode '0640'
    end
  end
  watched = files.keys.map { |path| "deployer_service_config[#{path}]" }

  (node['deployer']['openstack'][service_key]['defaults_files'] || {}).each do |path, variables|
    template path do
      cookbook 'deployer_openstack'
      source 'shell-defaults.erb'
      owner 'root'
      group 'root'
      mode '0644'
      variables(variables: variables.to_h)
    end
    watched << "template[#{path}]"
  end

  uwsgi_apps = node['deployer']['openstack']['uwsgi']['apps']
  new_resource.units.select { |unit| uwsgi_apps[unit] }.each do |unit|
    template uwsgi_apps[unit]['defaults_file'] do
      cookbook 'deployer_openstack'
      source 'uwsgi-defaults.erb'
      owner 'root'
      group 'root'
      mode '0644'
      variables DeployerOpenstack::Helpers.uwsgi_defaults(attributes, unit)
    end
    watched << "template[#{uwsgi_apps[unit]['defaults_file']}]"
  end

  # Units Debian ships for this service that the role does not run (they would hold its port).
  Array(node['deployer']['openstack'][service_key]['replaced_units']).each do |unit|
    service "#{unit} (replaced)" do
      service_name unit
      action [:stop, :disable]
    end
  end

  unit_files = node['deployer']['openstack']['systemd_units']
  new_resource.units.select { |unit| unit_files[unit] }.each do |unit|
    template "/etc/systemd/system/#{unit}.service" do
      cookbook 'deployer_openstack'
      source 'systemd-unit.erb'
      owner 'root'
      group 'root'
      mode '0644'
      variables DeployerOpenstack::Helpers.systemd_unit(attributes, unit)
      notifies :run, 'execute[systemctl daemon-reload]', :immediately
    end
    watched << "template[/etc/systemd/system/#{unit}.service]"
  end

  execute 'systemctl daemon-reload' do
    action :nothing
  end

  deployer_openstack_db_sync service_key if new_resource.db_sync

  new_resource.units.each do |unit|
    service unit do
      action [:enable, :start]
      watched.each { |resource| subscribes :restart, resource, :delayed }
    end
  end
end
