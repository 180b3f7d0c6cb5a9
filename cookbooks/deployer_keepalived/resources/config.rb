unified_mode true
provides :deployer_keepalived_config

description 'keepalived.conf with one vrrp_instance per VIP cluster; holds the VRRP auth_pass, so it is sensitive, and is checked with keepalived -t -e before it replaces the old file'

property :config_file, String, name_property: true,
         description: 'Path of the rendered configuration'
property :binary, String, default: '/usr/sbin/keepalived',
         description: 'keepalived executable used to check the new file'

action :create do
  template new_resource.config_file do
    cookbook 'deployer_keepalived'
    source 'keepalived.conf.erb'
    owner 'root'
    group 'root'
    mode '0600'
    sensitive true
    variables DeployerKeepalived::Helpers.keepalived_config(node.to_hash, deployer_secret_lookup)
    # -e: a missing file is an error (plain -t exits 0 on it).
    verify "#{new_resource.binary} -t -e -f %{path}"
  end
end
