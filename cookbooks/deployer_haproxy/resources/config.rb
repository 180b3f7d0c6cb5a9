unified_mode true
provides :deployer_haproxy_config

description 'haproxy.cfg for a controller: API listeners and single-writer Galera listeners on the VIPs, checked with haproxy -c before it replaces the old file'

property :config_file, String, name_property: true,
         description: 'Path of the rendered configuration'
property :binary, String, default: '/usr/sbin/haproxy',
         description: 'haproxy executable used to check the new file'

action :create do
  template new_resource.config_file do
    cookbook 'deployer_haproxy'
    source 'haproxy.cfg.erb'
    owner 'root'
    group 'root'
    mode '0644'
    variables DeployerHaproxy::Helpers.haproxy_config(node.to_hash)
    verify "#{new_resource.binary} -c -q -f %{path}"
  end
end
