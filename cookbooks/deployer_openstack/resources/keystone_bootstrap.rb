# Keystone's shared keys on every Keystone node, and the admin user and identity endpoints,
# once, on the leader (the rest of the catalog: deployer_openstack_endpoints).
provides :deployer_openstack_keystone_bootstrap
unified_mode true

description 'Installs the shared fernet and credential keys and bootstraps the admin user'

property :key_dirs, Hash, default: { 'fernet' => '/etc/keystone/fernet-keys', 'credential' => '/etc/keystone/credential-keys' },
         description: 'Key repository per key kind; every Keystone node holds the same keys'
property :bootstrap, [true, false], default: lazy { DeployerCommon::Cluster.leader?(node.to_hash) },
         description: 'Run keystone-manage bootstrap (once per deployment: on the leader)'

action_class do
  def admin_environment
    DeployerOpenstack::Helpers.admin_environment(node.to_hash, deployer_secret_lookup)
  end
end

action :create do
  attributes = node.to_hash
  admin = attributes['deployer']['openstack']['admin']
  bag = attributes['deployer']['secrets']['data_bag']
  item = DeployerOpenstack::Helpers::KEYSTONE_ITEM

  # Tokens (fernet) and encrypted credentials (credential) issued by one node must be readable by
  # every other, so the keys come from the data bag, never from keystone-manage *_setup per node.
  new_resource.key_dirs.each do |kind, dir|
    directory dir do
      owner 'keystone'
      group 'keystone'
      mode '0700'
    end

    %w(0 1).each do |index|
      file ::File.join(dir, index) do
        content(lazy { deployer_secret(bag, item, "#{kind}_key_#{index}") })
        owner 'keystone'
        group 'keystone'
        mode '0600'
        sensitive true
      end
    end
  end

  execute 'keystone-manage bootstrap' do
    command ['keystone-manage', 'bootstrap',
             '--bootstrap-username', admin['user'],
             '--bootstrap-project-name', admin['project'],
             '--bootstrap-role-name', 'admin',
             '--bootstrap-service-name', 'keystone',
             '--bootstrap-region-id', attributes['deployer']['openstack']['region'],
             '--bootstrap-public-url', DeployerOpenstack::Helpers.endpoint_url(attributes, 'keystone', 'public'),
             '--bootstrap-internal-url', DeployerOpenstack::Helpers.endpoint_url(attributes, 'keystone', 'internal'),
             '--bootstrap-admin-url', DeployerOpenstack::Helpers.endpoint_url(attributes, 'keystone', 'admin')]
    user 'keystone'
    group 'keystone'
    # keystone-manage reads the password from its environment, so it stays out of the process list.
    environment(lazy { { 'OS_BOOTSTRAP_PASSWORD' => deployer_secret(bag, item, 'admin_password') } })
    sensitive true
    only_if { new_resource.bootstrap }
    # Done when the admin can log in (keystone-manage bootstrap talks to the database, not the API).
    not_if { shell_out('openstack', 'token', 'issue', '-f', 'value', '-c', 'id', environment: admin_environment).exitstatus.zero? }
  end
end
