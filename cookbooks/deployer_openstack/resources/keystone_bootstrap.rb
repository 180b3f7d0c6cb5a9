# Keystone's one-time set-up on the node the deployer converges first: schema, shared fernet keys,
# admin user and the identity endpoints (the rest of the catalog: deployer_openstack_endpoints).
provides :deployer_openstack_keystone_bootstrap
unified_mode true

description 'Syncs the Keystone schema, installs the shared fernet keys and bootstraps the admin user'

property :fernet_dir, String, default: '/etc/keystone/fernet-keys',
         description: 'Directory of the fernet keys (the same keys on every Keystone node)'
property :db_sync, [true, false], default: false,
         description: 'Run keystone-manage db_sync and bootstrap (only on the node the deployer orders first)'

action :create do
  attributes = node.to_hash
  admin = attributes['deployer']['openstack']['admin']
  bag = attributes['deployer']['secrets']['data_bag']
  item = DeployerOpenstack::Helpers::KEYSTONE_ITEM

  directory new_resource.fernet_dir do
    owner 'keystone'
    group 'keystone'
    mode '0700'
  end

  # Every Keystone node must hold the same keys or tokens issued by one are rejected by another.
  %w(0 1).each do |index|
    file ::File.join(new_resource.fernet_dir, index) do
      content(lazy { deployer_secret(bag, item, "fernet_key_#{index}") })
      owner 'keystone'
      group 'keystone'
      mode '0600'
      sensitive true
    end
  end

  execute 'keystone-manage db_sync' do
    user 'keystone'
    only_if { new_resource.db_sync }
    # Guarded: keystone-manage db_sync --check exits 0 only when nothing is left to migrate.
    not_if 'keystone-manage db_sync --check', user: 'keystone'
  end

  execute 'keystone-manage bootstrap' do
    command ['keystone-manage', 'bootstrap',
             '--bootstrap-username', admin['user'],
             '--bootstrap-project-name', admin['project'],
             '--bootstrap-region-id', attributes['deployer']['openstack']['region'],
             '--bootstrap-public-url', DeployerOpenstack::Helpers.endpoint_url(attributes, 'keystone', 'public'),
             '--bootstrap-internal-url', DeployerOpenstack::Helpers.endpoint_url(attributes, 'keystone', 'internal'),
             '--bootstrap-admin-url', DeployerOpenstack::Helpers.endpoint_url(attributes, 'keystone', 'admin')]
    # keystone-manage reads the password from its environment, so it stays out of the process list.
    environment(lazy { { 'OS_BOOTSTRAP_PASSWORD' => deployer_secret(bag, item, 'admin_password') } })
    sensitive true
    only_if { new_resource.db_sync }
  end
end
