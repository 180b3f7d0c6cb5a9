#
# Template variables of deployer_openstack: pure functions of the merged node
# attributes (plain Hash) and a secret callable (bag, item, key) -> String, so a
# converge and tests/chef_render compute the same files. Every service file is
# deployer_common's generic INI template fed by sections(...).
module DeployerOpenstack
  module Helpers
    SERVICES = %w(keystone glance nova cinder).freeze
    NETWORK_MANAGERS = %w(
      nova.network.manager.FlatManager
      nova.network.manager.FlatDHCPManager
      nova.network.manager.VlanManager
    ).freeze
    INTERFACES = %w(public internal admin).freeze

    # Data bag items (in node['deployer']['secrets']['data_bag']) this cookbook reads.
    # deployer_galera and deployer_rabbitmq create the users with the same secrets.
    DB_PASSWORDS_ITEM = 'db_passwords'          # key: service name
    MQ_PASSWORDS_ITEM = 'mq_passwords'           # key: service name (its RabbitMQ user)
    SERVICE_PASSWORDS_ITEM = 'service_passwords' # key: service name (Keystone service user)
    KEYSTONE_ITEM = 'keystone'                   # keys: admin_password, fernet_key_0, fernet_key_1

    TEMPLATES = SERVICES.to_h do |service|
      ["#{service}.conf", { source: 'openstack-service.conf.erb', cookbook: 'deployer_common', variables: :"#{service}_conf" }]
    end.freeze

    module_function

    SERVICES.each do |service|
      define_method(:"#{service}_conf") do |node, secret|
        DeployerCommon::Helpers.service_config(sections(service, node, secret))
      end
      module_function :"#{service}_conf"
    end

    # {section => {key => value}}: the service's baseline conf, then the computed connections
    # (SQL on the db VIP, all RabbitMQ brokers, Keystone on its VIP) on top.
    def sections(service, node, secret)
      raise DeployerCommon::InvalidAttribute, "service must be one of #{SERVICES.join(', ')}, got #{service.inspect}" unless SERVICES.include?(service)

      openstack = node.dig('deployer', 'openstack')
      computed = {
        # The environment's orchestration.debug (origin: "debug": "ENABLE_DEBUG").
        'DEFAULT' => { 'debug' => node.dig('deployer', 'orchestration', 'debug') || false },
        'database' => { 'connection' => sql_connection(node, service, secret) },
      }
      if service == 'nova'
        # nova's API database sits behind nova's listener, next to the nova database.
        computed['api_database'] = { 'connection' => computed['database']['connection'].sub(%r{/[^/]+\z}, '/nova_api') }
        computed['glance'] = { 'api_servers' => endpoint_url(node, 'glance', 'internal') }
        computed['DEFAULT'].merge!(nova_network(node))
      end
      unless service == 'keystone'
        computed['DEFAULT']['transport_url'] = transport_url(node, service, secret)
        computed['oslo_messaging_rabbit'] = rabbit_options(node)
        computed['keystone_authtoken'] = authtoken(node, service, secret)
      end

      [openstack.dig(service, 'conf') || {}, computed].reduce({}) do |result, layer|
        layer.each { |section, values| (result[section] ||= {}).merge!(values) }
        result
      end
    end

    # nova-network settings from the environment's network block and the node's own address (ohai).
    def nova_network(node)
      network = node.dig('deployer', 'network') || {}
      unless network['service_type'] == 'nova-network'
        raise DeployerCommon::InvalidAttribute,
              "node['deployer']['network']['service_type'] must be nova-network (multi-host), got #{network['service_type'].inspect}"
      end
      manager = network['network_manager']
      unless NETWORK_MANAGERS.include?(manager)
        raise DeployerCommon::InvalidAttribute,
              "node['deployer']['network']['network_manager'] must be one of #{NETWORK_MANAGERS.join(', ')}, got #{manager.inspect}"
      end
      address = node['ipaddress']
      raise DeployerCommon::InvalidAttribute, "node['ipaddress'] (this node's own address, nova my_ip) is missing" if address.to_s.empty?

      { 'network_manager' => manager, 'my_ip' => address }
    end

    def secret_bag(node)
      node.dig('deployer', 'secrets', 'data_bag')
    end

    def sql_connection(node, service, secret)
      password = secret.call(secret_bag(node), DB_PASSWORDS_ITEM, service)
      DeployerCommon::Cluster.sql_connection(node, service, password, driver: node.dig('deployer', 'openstack', 'database', 'driver'))
    end

    # All brokers in one URL (oslo.messaging fails over between them itself), each service with
    # its own RabbitMQ user; deployer_rabbitmq creates the users and owns the broker settings.
    def transport_url(node, service, secret)
      password = secret.call(secret_bag(node), MQ_PASSWORDS_ITEM, service)
      DeployerRabbitmq::Helpers.transport_url(node, service, password)
    end

    # The origin's rabbit_hosts + rabbit_ha_queues, or quorum queues: the same queue type the
    # brokers' HA policy follows (node['deployer']['rabbitmq']['queue_type']).
    def rabbit_options(node)
      { 'rabbit_hosts' => DeployerRabbitmq::Helpers.rabbit_hosts(node) }.merge(DeployerRabbitmq::Helpers.messaging_options(node))
    end

    def authtoken(node, service, secret)
      {
        'www_authenticate_uri' => endpoint_url(node, 'keystone', 'public'),
        'auth_url' => endpoint_url(node, 'keystone', 'internal'),
        'auth_type' => 'password',
        'project_domain_name' => 'Default',
        'user_domain_name' => 'Default',
        'project_name' => node.dig('deployer', 'openstack', 'service_project'),
        'username' => service,
        'password' => secret.call(secret_bag(node), SERVICE_PASSWORDS_ITEM, service),
      }
    end

    # The Keystone catalog as plain data (origin: "registered in Keystone with the
    # corresponding VIP as its target IP").
    def endpoint_catalog(node)
      openstack = node.dig('deployer', 'openstack')
      openstack.fetch('endpoints').map do |service, spec|
        {
          'service' => service,
          'type' => spec.fetch('type'),
          'description' => spec.fetch('description'),
          'region' => openstack.fetch('region'),
          'urls' => INTERFACES.to_h { |interface| [interface, endpoint_url(node, service, interface)] },
        }
      end
    end

    def endpoint_url(node, service, interface)
      openstack = node.dig('deployer', 'openstack')
      spec = openstack.fetch('endpoints')[service] or
        raise DeployerCommon::InvalidAttribute, "node['deployer']['openstack']['endpoints']['#{service}'] is not defined"
      cluster = spec.dig('vips', interface) || spec['vip'] || node.dig('deployer', 'cluster', 'api_vip')
      address = DeployerCommon::Cluster.vip(node, cluster)['address']
      "#{openstack.fetch('scheme')}://#{address}:#{Integer(spec.fetch('port'))}#{spec.fetch('path')}"
    end
  end
end
