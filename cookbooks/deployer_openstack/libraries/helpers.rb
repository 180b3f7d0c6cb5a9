#
# Template variables of deployer_openstack: pure functions of the merged node
# attributes (plain Hash) and a secret callable (bag, item, key) -> String, so a
# converge and tests/chef_render compute the same files. Every service file is
# deployer_common's generic INI template fed by sections(...).
module DeployerOpenstack
  module Helpers
    SERVICES = %w(keystone glance placement nova neutron cinder).freeze
    # Services that talk RPC over RabbitMQ (each has a RabbitMQ user of its name).
    RPC_SERVICES = %w(nova neutron cinder).freeze
    INTERFACES = %w(public internal admin).freeze
    NETWORK_SERVICE = 'ovn'.freeze

    # Data bag items (in node['deployer']['secrets']['data_bag']) this cookbook reads.
    # deployer_galera and deployer_rabbitmq create the users with the same secrets.
    DB_PASSWORDS_ITEM = 'db_passwords'          # key: service name
    MQ_PASSWORDS_ITEM = 'mq_passwords'           # key: service name (its RabbitMQ user)
    SERVICE_PASSWORDS_ITEM = 'service_passwords' # key: service name (Keystone service user)
    KEYSTONE_ITEM = 'keystone'                   # keys: admin_password, fernet_key_0/1, credential_key_0/1
    NEUTRON_ITEM = 'neutron'                     # key: metadata_secret (nova <-> OVN metadata agent)

    TEMPLATES = {
      'keystone.conf' => :keystone_conf, 'glance-api.conf' => :glance_conf, 'placement.conf' => :placement_conf,
      'nova.conf' => :nova_conf, 'neutron.conf' => :neutron_conf, 'ml2_conf.ini' => :ml2_conf, 'cinder.conf' => :cinder_conf,
    }.transform_values { |variables| { source: 'openstack-service.conf.erb', cookbook: 'deployer_common', variables: variables } }.freeze

    module_function

    SERVICES.each do |service|
      define_method(:"#{service}_conf") do |node, secret|
        DeployerCommon::Helpers.service_config(sections(service, node, secret))
      end
      module_function :"#{service}_conf"
    end

    def ml2_conf(node, _secret = nil)
      DeployerCommon::Helpers.service_config(ml2_sections(node))
    end

    def settings(node, service)
      node.dig('deployer', 'openstack', service) || {}
    end

    # {path => sections}: every file a service's controller units read.
    def config_files(service, node, secret)
      files = { settings(node, service).fetch('config_file') => sections(service, node, secret) }
      files[settings(node, 'neutron').fetch('ml2_file')] = ml2_sections(node) if service == 'neutron'
      files
    end

    # {section => {key => value}}: the service's baseline conf, then the computed settings on top.
    def sections(service, node, secret)
      raise DeployerCommon::InvalidAttribute, "service must be one of #{SERVICES.join(', ')}, got #{service.inspect}" unless SERVICES.include?(service)

      computed = { 'DEFAULT' => { 'debug' => debug?(node) } }
      database_section = service == 'placement' ? 'placement_database' : 'database'
      computed[database_section] = { 'connection' => sql_connection(node, service, secret) }
      if RPC_SERVICES.include?(service)
        computed['DEFAULT']['transport_url'] = transport_url(node, service, secret)
        computed['oslo_messaging_rabbit'] = DeployerRabbitmq::Helpers.messaging_options(node)
      end
      computed['keystone_authtoken'] = authtoken(node, service, secret) unless service == 'keystone'
      computed = merge(computed, public_send(:"#{service}_computed", node, secret, computed))
      merge(settings(node, service)['conf'] || {}, computed)
    end

    def keystone_computed(_node, _secret, _computed)
      {}
    end

    def glance_computed(node, _secret, _computed)
      { 'DEFAULT' => { 'bind_host' => api_bind_address(node), 'bind_port' => Integer(settings(node, 'glance')['bind_port']) } }
    end

    def placement_computed(_node, _secret, _computed)
      {}
    end

    def nova_computed(node, secret, computed)
      address = DeployerCommon::Cluster.my_address(node)
      api_database = computed['database']['connection'].sub(%r{/[^/]+\z}, '/nova_api')
      {
        # host: the name ovn-controller registers its chassis under, so Neutron binds ports here.
        'DEFAULT' => { 'my_ip' => address, 'host' => node['name'] },
        'api_database' => { 'connection' => api_database },
        'placement' => service_auth(node, 'placement', secret),
        'neutron' => service_auth(node, 'neutron', secret).merge(
          'service_metadata_proxy' => true,
          'metadata_proxy_shared_secret' => secret.call(secret_bag(node), NEUTRON_ITEM, 'metadata_secret')
        ),
        'vnc' => {
          'server_listen' => address, 'server_proxyclient_address' => address,
          'novncproxy_host' => api_bind_address(node), 'novncproxy_port' => Integer(settings(node, 'nova')['novncproxy_port']),
          'novncproxy_base_url' => "#{vip_base_url(node, 'public', settings(node, 'nova')['novncproxy_port'])}/vnc_auto.html",
        },
      }
    end

    def neutron_computed(node, secret, _computed)
      {
        'DEFAULT' => { 'bind_host' => api_bind_address(node), 'bind_port' => Integer(settings(node, 'neutron')['bind_port']) },
        'nova' => service_auth(node, 'nova', secret),
      }
    end

    def cinder_computed(node, _secret, _computed)
      { 'DEFAULT' => { 'my_ip' => DeployerCommon::Cluster.my_address(node) } }
    end

    # ML2/OVN: the baseline, and the OVN databases on every controller.
    def ml2_sections(node)
      network_service!(node)
      computed = { 'ovn' => { 'ovn_nb_connection' => DeployerOvn::Helpers.nb_connection(node),
                              'ovn_sb_connection' => DeployerOvn::Helpers.sb_connection(node) } }
      merge(settings(node, 'neutron')['ml2_conf'] || {}, computed)
    end

    # The environment's network block must name the network service Zed has.
    def network_service!(node)
      type = node.dig('deployer', 'network', 'service_type')
      return type if type == NETWORK_SERVICE
      if type == 'nova-network'
        raise DeployerCommon::InvalidAttribute,
              "node['deployer']['network']['service_type'] is nova-network, which was removed from nova in Ussuri (21.0.0) " \
              "and is not packaged in Debian 12: use 'ovn' (Neutron ML2/OVN with distributed floating IPs: each compute is its own gateway)"
      end
      raise DeployerCommon::InvalidAttribute, "node['deployer']['network']['service_type'] must be '#{NETWORK_SERVICE}', got #{type.inspect}"
    end

    # Where the APIs listen: node['deployer']['openstack']['bind_address'], else this node's address.
    def api_bind_address(node)
      address = node.dig('deployer', 'openstack', 'bind_address')
      return DeployerCommon::Cluster.my_address(node) if address.nil?
      DeployerCommon::Cluster.valid_address!(address, "node['deployer']['openstack']['bind_address']")
      address.to_s
    end

    # DAEMON_ARGS for /etc/default/<name> of a uwsgi-run API: api_bind_address only.
    def uwsgi_defaults(node, unit)
      uwsgi = node.dig('deployer', 'openstack', 'uwsgi') || {}
      app = (uwsgi['apps'] || {})[unit] or
        raise DeployerCommon::InvalidAttribute, "node['deployer']['openstack']['uwsgi']['apps']['#{unit}'] is not defined"
      args = "--http-socket #{api_bind_address(node)}:#{Integer(app.fetch('port'))} --ini #{app.fetch('ini')}"
      # After --ini: uwsgi keeps the last value given for an option.
      args += " --processes #{uwsgi_processes(node, uwsgi)}"
      { 'unit' => unit, 'daemon_args' => args }
    end

    def uwsgi_processes(node, uwsgi)
      processes = uwsgi['processes'] || [Integer(node.dig('cpu', 'total') || 1), Integer(uwsgi.fetch('max_default_processes'))].min
      processes = Integer(processes)
      return processes if processes.positive?

      raise DeployerCommon::InvalidAttribute, "node['deployer']['openstack']['uwsgi']['processes'] must be a positive number, got #{uwsgi['processes'].inspect}"
    end

    # Variables of systemd-unit.erb for a unit the cookbook writes.
    def systemd_unit(node, unit)
      spec = (node.dig('deployer', 'openstack', 'systemd_units') || {})[unit] or
        raise DeployerCommon::InvalidAttribute, "node['deployer']['openstack']['systemd_units']['#{unit}'] is not defined"
      %w(description user exec_start after).to_h { |key| [key, spec.fetch(key)] }
    end

    # [keystone_authtoken]-style password auth of a service user, for the sections in which a
    # service calls another (nova -> placement/neutron, neutron -> nova).
    def service_auth(node, user, secret)
      {
        'auth_url' => endpoint_url(node, 'keystone', 'internal'),
        'auth_type' => 'password',
        'project_domain_name' => 'Default',
        'user_domain_name' => 'Default',
        'region_name' => node.dig('deployer', 'openstack', 'region'),
        'project_name' => node.dig('deployer', 'openstack', 'service_project'),
        'username' => user,
        'password' => secret.call(secret_bag(node), SERVICE_PASSWORDS_ITEM, user),
      }
    end

    def authtoken(node, service, secret)
      { 'www_authenticate_uri' => endpoint_url(node, 'keystone', 'public') }.merge(service_auth(node, service, secret))
    end

    def debug?(node)
      # The environment's orchestration.debug (origin: "debug": "ENABLE_DEBUG").
      [true, 'true', 'True'].include?(node.dig('deployer', 'orchestration', 'debug'))
    end

    def merge(lower, higher)
      [lower, higher].each_with_object({}) do |layer, result|
        layer.each { |section, values| result[section] = (result[section] || {}).merge(values) }
      end
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

    # The openstack client's environment for a user of the Default domain (passwords go through
    # the environment, never a command line).
    def user_environment(node, user, password, project = nil)
      {
        'OS_AUTH_URL' => endpoint_url(node, 'keystone', 'internal'),
        'OS_IDENTITY_API_VERSION' => '3',
        'OS_USERNAME' => user,
        'OS_PASSWORD' => password,
        'OS_PROJECT_NAME' => project || node.dig('deployer', 'openstack', 'service_project'),
        'OS_USER_DOMAIN_NAME' => 'Default',
        'OS_PROJECT_DOMAIN_NAME' => 'Default',
        'OS_REGION_NAME' => node.dig('deployer', 'openstack', 'region'),
      }
    end

    def admin_environment(node, secret)
      admin = node.dig('deployer', 'openstack', 'admin')
      user_environment(node, admin['user'], secret.call(secret_bag(node), KEYSTONE_ITEM, 'admin_password'), admin['project'])
    end

    # What CATALOG_SCRIPT reads on stdin: the catalog, the service users with their passwords
    # (a Hash by user), and 'differences' (list what is missing or wrong) or 'apply' (make it so).
    def catalog_request(node, mode, passwords)
      openstack = node.dig('deployer', 'openstack')
      users = service_users(node).map do |user|
        { 'user' => user, 'password' => passwords.fetch(user), 'project' => openstack['service_project'],
          'role' => openstack['service_role'] }
      end
      { 'mode' => mode, 'catalog' => endpoint_catalog(node), 'users' => users }
    end

    # The whole Keystone catalog in one process, as the admin of OS_* in its environment: the
    # services, their endpoints (created, or their URL set when the VIP changed) and the service
    # users (created, or password and role repaired, until each logs in to the service project).
    # One client start and one admin token instead of an openstack CLI run per item (about 3 s
    # each, 30 items: half of a first converge, most of a re-run).  Passwords come on stdin; what
    # it prints, a JSON list of {"description"} per difference, holds none.
    CATALOG_SCRIPT = <<~PYTHON.freeze
      import json, os, sys
      from keystoneauth1 import exceptions, session
      from keystoneauth1.identity import v3
      from keystoneclient.v3 import client

      # Retried connections: one long session reuses its keep-alive connection through HAProxy,
      # and a reused one can be closed under it ("Remote end closed connection without
      # response", seen on the active-active leader); the per-item CLI runs never reused one.
      def password_session(user, password, project):
          return session.Session(auth=v3.Password(
              auth_url=os.environ["OS_AUTH_URL"], username=user, password=password, project_name=project,
              user_domain_name="Default", project_domain_name="Default"), connect_retries=3)

      def logs_in(user):
          try:
              password_session(user["user"], user["password"], user["project"]).get_token()
              return True
          except exceptions.Unauthorized:
              return False

      def region_of(endpoint):
          return getattr(endpoint, "region_id", None) or getattr(endpoint, "region", None)

      def differences(keystone, request):
          services = {service.name: service for service in keystone.services.list()}
          endpoints = keystone.endpoints.list()
          found = []
          for entry in request["catalog"]:
              name, service = entry["service"], services.get(entry["service"])
              if service is None:
                  found.append({"description": f"create Keystone service {name} ({entry['type']})",
                                "create_service": entry})
              for interface, url in sorted(entry["urls"].items()):
                  same = [e for e in endpoints if service is not None and e.service_id == service.id
                          and e.interface == interface and region_of(e) == entry["region"]]
                  if any(e.url == url for e in same):
                      continue
                  found.append({"description": (f"set the {interface} endpoint of {name} to {url} (was {same[0].url})"
                                                if same else f"create the {interface} endpoint of {name}: {url}"),
                                "endpoint": {"service": name, "interface": interface, "url": url,
                                             "region": entry["region"], "id": same[0].id if same else None}})
          for user in request["users"]:
              if not logs_in(user):
                  found.append({"description": f"create Keystone user {user['user']} or repair its password and "
                                               f"its {user['role']} role on project {user['project']}",
                                "user": user["user"]})
          return found

      def find(manager, name, **scope):
          return next(iter(manager.list(name=name, **scope)), None)

      def repair_user(keystone, request):
          project = (find(keystone.projects, request["project"], domain="default")
                     or keystone.projects.create(request["project"], "default", description="OpenStack service users"))
          role = find(keystone.roles, request["role"]) or keystone.roles.create(request["role"])
          user = find(keystone.users, request["user"], domain="default")
          if user:
              keystone.users.update(user, password=request["password"])
          else:
              user = keystone.users.create(request["user"], domain="default", password=request["password"],
                                           default_project=project)
          keystone.roles.grant(role, user=user, project=project)

      def apply(keystone, request, found):
          users = {user["user"]: user for user in request["users"]}
          for change in found:
              if "create_service" in change:
                  entry = change["create_service"]
                  keystone.services.create(entry["service"], type=entry["type"], description=entry["description"])
          services = {service.name: service for service in keystone.services.list()}
          for change in found:
              endpoint = change.get("endpoint")
              if endpoint and endpoint["id"]:
                  keystone.endpoints.update(endpoint["id"], url=endpoint["url"])
              elif endpoint:
                  keystone.endpoints.create(services[endpoint["service"]], endpoint["url"],
                                            interface=endpoint["interface"], region=endpoint["region"])
              if "user" in change:
                  repair_user(keystone, users[change["user"]])

      request = json.load(sys.stdin)
      keystone = client.Client(session=password_session(os.environ["OS_USERNAME"], os.environ["OS_PASSWORD"],
                                                         os.environ["OS_PROJECT_NAME"]), interface="internal")
      found = differences(keystone, request)
      if request["mode"] == "apply":
          apply(keystone, request, found)
      json.dump([{"description": change["description"]} for change in found], sys.stdout)
    PYTHON

    # The catalog's services: every endpoints entry not switched off.
    def catalog_services(node)
      (node.dig('deployer', 'openstack', 'endpoints') || {}).select { |_, spec| spec }.keys
    end

    # Keystone users of the services (every catalog service but Keystone itself).
    def service_users(node)
      catalog_services(node) - ['keystone']
    end

    # The Keystone catalog as plain data (origin: "registered in Keystone with the
    # corresponding VIP as its target IP").
    def endpoint_catalog(node)
      openstack = node.dig('deployer', 'openstack')
      catalog_services(node).map do |service|
        spec = openstack['endpoints'][service]
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
      "#{vip_base_url(node, interface, spec.fetch('port'), cluster)}#{spec.fetch('path')}"
    end

    def vip_base_url(node, _interface, port, cluster = nil)
      cluster ||= node.dig('deployer', 'cluster', 'api_vip')
      address = DeployerCommon::Cluster.vip(node, cluster)['address']
      "#{node.dig('deployer', 'openstack', 'scheme')}://#{address}:#{Integer(port)}"
    end
  end
end
