unified_mode true
provides :deployer_keepalived_config
use '../../deployer_common/resources/partial/_checked_config'

description 'keepalived.conf with one vrrp_instance per VIP cluster; holds the VRRP auth_pass, so it is sensitive, and is checked with keepalived -t -e before it replaces the old file'

property :binary, String, default: '/usr/sbin/keepalived',
         description: 'keepalived executable used to check the new file'
property :config, Hash, sensitive: true,
         default: lazy { DeployerKeepalived::Helpers.keepalived_config(node.to_hash, deployer_secret_lookup) },
         description: "Template variables (one vrrp_instance per VIP cluster, with its auth_pass); by default from node['deployer']"

action :create do
  # -e: a missing file is an error (plain -t exits 0 on it).
  checked_config 'deployer_keepalived', 'keepalived.conf.erb', file_mode: '0600', secret: true,
                                                              check: "#{new_resource.binary} -t -e -f %{path}"
end
