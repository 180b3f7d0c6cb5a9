# The Keystone catalog: one service entry and public/internal/admin endpoints per service, on the VIPs.
provides :deployer_openstack_endpoints
unified_mode true

description 'Registers every OpenStack service and its endpoints in Keystone (idempotent)'

property :auth_url, String, default: lazy { DeployerOpenstack::Helpers.endpoint_url(node.to_hash, 'keystone', 'internal') },
         description: 'Keystone URL the openstack client authenticates against'

action :register do
  attributes = node.to_hash
  admin = attributes['deployer']['openstack']['admin']
  # The admin password reaches the client through its environment, never the command line,
  # and is read from the data bag only at converge time.
  client_environment = lambda do
    {
      'OS_AUTH_URL' => new_resource.auth_url,
      'OS_IDENTITY_API_VERSION' => '3',
      'OS_USERNAME' => admin['user'],
      'OS_PROJECT_NAME' => admin['project'],
      'OS_USER_DOMAIN_NAME' => 'Default',
      'OS_PROJECT_DOMAIN_NAME' => 'Default',
      'OS_PASSWORD' => deployer_secret(node['deployer']['secrets']['data_bag'], DeployerOpenstack::Helpers::KEYSTONE_ITEM, 'admin_password'),
    }
  end
  openstack = ->(*args) { shell_out('openstack', *args, environment: client_environment.call) }

  DeployerOpenstack::Helpers.endpoint_catalog(attributes).each do |entry|
    execute "keystone service #{entry['service']}" do
      command ['openstack', 'service', 'create', '--name', entry['service'], '--description', entry['description'], entry['type']]
      environment(lazy { client_environment.call })
      sensitive true
      not_if { openstack.call('service', 'show', entry['service']).exitstatus.zero? }
    end

    entry['urls'].each do |interface, url|
      execute "keystone endpoint #{entry['service']} #{interface}" do
        command ['openstack', 'endpoint', 'create', '--region', entry['region'], entry['service'], interface, url]
        environment(lazy { client_environment.call })
        sensitive true
        not_if do
          openstack.call('endpoint', 'list', '--service', entry['service'], '--interface', interface,
                         '--region', entry['region'], '-f', 'value', '-c', 'URL').stdout.lines.map(&:strip).include?(url)
        end
      end
    end
  end
end
