unified_mode true
provides :deployer_haproxy_config
use '../../deployer_common/resources/partial/_checked_config'

description 'haproxy.cfg for a controller: API listeners and single-writer Galera listeners on the VIPs, checked with haproxy -c before it replaces the old file'

property :binary, String, default: '/usr/sbin/haproxy',
         description: 'haproxy executable used to check the new file'
property :config, Hash, default: lazy { DeployerHaproxy::Helpers.haproxy_config(node.to_hash) },
         description: "Template variables (global, defaults, listeners); by default from node['deployer']"

action :create do
  checked_config 'deployer_haproxy', 'haproxy.cfg.erb', check: "#{new_resource.binary} -c -q -f %{path}"
end
