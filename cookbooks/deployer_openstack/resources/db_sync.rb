# A service's schema migrations, run where the caller decides (the leader: once per deployment)
# and again only when the package carrying the migrations changes version.
provides :deployer_openstack_db_sync
unified_mode true

description "Runs a service's schema migrations once per installed version of its code"

property :service, String, name_property: true,
         callbacks: { "has an entry in node['deployer']['openstack']['db_sync']" => ->(s) { DeployerOpenstack::Helpers::SERVICES.include?(s) } }

action_class do
  def spec
    node['deployer']['openstack']['db_sync'][new_resource.service]
  end

  def marker
    ::File.join(node['deployer']['openstack']['db_sync_marker_dir'], new_resource.service)
  end

  def installed_version
    shell_out!('dpkg-query', '-W', '-f', '${Version}', spec['package']).stdout.strip
  end

  def migrated?
    ::File.exist?(marker) && ::File.read(marker).strip == installed_version
  end
end

action :run do
  directory node['deployer']['openstack']['db_sync_marker_dir'] do
    recursive true
    mode '0755'
  end

  execute "#{new_resource.service} schema migrations" do
    command spec['command']
    # The service's own group too: without it the command keeps root's group and cannot read
    # the service's 0640 root:<service> configuration (mixlib-shellout changes only the uid).
    user spec['user']
    group spec['user']
    environment 'HOME' => '/tmp'
    not_if { migrated? }
  end

  # Written only after the migrations succeeded (a failed one fails the run first).
  file marker do
    content(lazy { "#{installed_version}\n" })
    mode '0644'
  end
end
