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

  # One run of the catalog script (passwords on stdin, the admin's in the environment); the
  # differences it found, each with a description and nothing secret.
  def keystone_catalog(request)
    result = shell_out('python3', '-c', DeployerOpenstack::Helpers::CATALOG_SCRIPT,
                       input: JSON.generate(request), environment: admin_environment, sensitive: true)
    unless result.exitstatus.zero?
      # The exception's own line first (what a one-line error report keeps), then the traceback.
      lines = result.stderr.lines.map(&:rstrip).reject(&:empty?)
      raise "Keystone catalog (#{request['mode']}) failed with status #{result.exitstatus}: #{lines.last}\n#{lines.last(15).join("\n")}"
    end
    JSON.parse(result.stdout)
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

  # What the catalog lacks, read in one client run; made in one more when there is anything.
  passwords = DeployerOpenstack::Helpers.service_users(attributes).to_h do |user|
    [user, deployer_secret(bag, DeployerOpenstack::Helpers::SERVICE_PASSWORDS_ITEM, user)]
  end
  request = ->(mode) { DeployerOpenstack::Helpers.catalog_request(attributes, mode, passwords) }
  missing = keystone_catalog(request.call('differences'))
  unless missing.empty?
    converge_by(missing.map { |change| change['description'] }) { keystone_catalog(request.call('apply')) }
  end
end
