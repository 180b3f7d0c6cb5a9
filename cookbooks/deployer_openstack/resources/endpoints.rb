# The Keystone catalog and the service users: one service entry and public/internal/admin
# endpoints per service, on the VIPs; one user per service with the service role on the
# service project.
require 'json'
require 'net/http'

provides :deployer_openstack_endpoints
unified_mode true

description 'Registers every OpenStack service, its endpoints and its Keystone user (idempotent)'

property :timeout, Integer, default: 120,
         description: 'Seconds to wait for Keystone to answer after its first start'

action_class do
  def admin_environment
    DeployerOpenstack::Helpers.admin_environment(node.to_hash, deployer_secret_lookup)
  end

  def openstack(*args)
    openstack_as(admin_environment, *args)
  end

  # The client as another user (positional: guards call this through the resource).
  def openstack_as(environment, *args)
    shell_out('openstack', *args, environment: environment)
  end

  def keystone_answers?(url)
    response = Net::HTTP.get_response(URI(url))
    response.code.to_i < 500
  rescue SystemCallError, IOError, Net::OpenTimeout, Net::ReadTimeout
    false
  end
end

action :register do
  attributes = node.to_hash
  auth_url = DeployerOpenstack::Helpers.endpoint_url(attributes, 'keystone', 'internal')
  bag = attributes['deployer']['secrets']['data_bag']

  # uwsgi takes a few seconds to serve after keystone.service starts.
  ruby_block 'wait for Keystone' do
    block do
      deadline = Time.now + new_resource.timeout
      sleep 1 until keystone_answers?(auth_url) || Time.now > deadline
      raise "Keystone does not answer on #{auth_url} after #{new_resource.timeout}s" unless keystone_answers?(auth_url)
    end
    not_if { keystone_answers?(auth_url) }
  end

  DeployerOpenstack::Helpers.endpoint_catalog(attributes).each do |entry|
    execute "keystone service #{entry['service']}" do
      command ['openstack', 'service', 'create', '--name', entry['service'], '--description', entry['description'], entry['type']]
      environment(lazy { admin_environment })
      sensitive true
      not_if { openstack('service', 'show', entry['service']).exitstatus.zero? }
    end

    entry['urls'].each do |interface, url|
      execute "keystone endpoint #{entry['service']} #{interface}" do
        command ['openstack', 'endpoint', 'create', '--region', entry['region'], entry['service'], interface, url]
        environment(lazy { admin_environment })
        sensitive true
        not_if do
          openstack('endpoint', 'list', '--service', entry['service'], '--interface', interface,
                    '--region', entry['region'], '-f', 'value', '-c', 'URL').stdout.lines.map(&:strip).include?(url)
        end
      end
    end
  end

  DeployerOpenstack::Helpers.service_users(attributes).each do |user|
    # Read at converge time, inside the guard and the input only.
    password = -> { deployer_secret(bag, DeployerOpenstack::Helpers::SERVICE_PASSWORDS_ITEM, user) }
    # The OpenStack client takes a user's password only on its command line or from a terminal,
    # so a short keystoneclient script reads it on stdin instead.
    execute "keystone service user #{user}" do
      command ['python3', '-c', DeployerOpenstack::Helpers::SERVICE_USER_SCRIPT]
      input(lazy { JSON.generate(DeployerOpenstack::Helpers.service_user_request(attributes, user, password.call)) })
      environment(lazy { admin_environment })
      sensitive true
      # Done when the user logs in to the service project (exists, right password, has a role there).
      not_if do
        as_user = DeployerOpenstack::Helpers.user_environment(attributes, user, password.call)
        openstack_as(as_user, 'token', 'issue', '-f', 'value', '-c', 'id').exitstatus.zero?
      end
    end
  end
end
