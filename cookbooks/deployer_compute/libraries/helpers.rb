#
# Template variables of deployer_compute (pure, see tests/chef_render): the same nova.conf as a
# controller, nova-compute.conf with the virt driver, and the OVN metadata agent's file.
module DeployerCompute
  module Helpers
    TEMPLATES = {
      'nova.conf' => :nova_conf, 'nova-compute.conf' => :nova_compute_conf,
      'neutron_ovn_metadata_agent.ini' => :metadata_agent_conf,
    }.transform_values { |variables| { source: 'openstack-service.conf.erb', cookbook: 'deployer_common', variables: variables } }.freeze
    DRIVERS = %w(libvirt.LibvirtDriver fake.FakeDriver).freeze

    module_function

    def settings(node)
      node.dig('deployer', 'compute') || {}
    end

    def nova_conf(node, secret)
      DeployerOpenstack::Helpers.nova_conf(node, secret)
    end

    def driver(node)
      driver = settings(node)['driver']
      return driver if DRIVERS.include?(driver)
      raise DeployerCommon::InvalidAttribute, "node['deployer']['compute']['driver'] must be one of #{DRIVERS.join(', ')}, got #{driver.inspect}"
    end

    def libvirt?(node)
      driver(node) == 'libvirt.LibvirtDriver'
    end

    def nova_compute_sections(node)
      sections = { 'DEFAULT' => { 'compute_driver' => driver(node) } }
      sections['libvirt'] = { 'virt_type' => settings(node).dig('libvirt', 'virt_type') } if libvirt?(node)
      sections
    end

    def nova_compute_conf(node, _secret = nil)
      DeployerCommon::Helpers.service_config(nova_compute_sections(node))
    end

    # The agent proxies instances' metadata requests to nova's metadata API on the API VIP.
    def metadata_agent_sections(node, secret)
      DeployerOpenstack::Helpers.network_service!(node)
      api_vip = DeployerCommon::Cluster.vip(node, node.dig('deployer', 'cluster', 'api_vip'))
      {
        'DEFAULT' => {
          'debug' => DeployerOpenstack::Helpers.debug?(node),
          'nova_metadata_host' => api_vip['address'],
          'nova_metadata_port' => Integer(node.dig('deployer', 'openstack', 'uwsgi', 'apps', 'nova-api-metadata', 'port')),
          'metadata_proxy_shared_secret' => secret.call(DeployerOpenstack::Helpers.secret_bag(node),
                                                        DeployerOpenstack::Helpers::NEUTRON_ITEM, 'metadata_secret'),
        },
        'ovn' => { 'ovn_sb_connection' => DeployerOvn::Helpers.sb_connection(node) },
        'ovs' => { 'ovsdb_connection' => settings(node).dig('metadata_agent', 'ovsdb_connection') },
      }
    end

    def metadata_agent_conf(node, secret)
      DeployerCommon::Helpers.service_config(metadata_agent_sections(node, secret))
    end

    # {path => {'group' => owner group, 'sections' => ...}}: every file this node's units read.
    def config_files(node, secret)
      compute = settings(node)
      {
        node.dig('deployer', 'openstack', 'nova', 'config_file') => { 'group' => 'nova', 'sections' => DeployerOpenstack::Helpers.sections('nova', node, secret) },
        compute['config_file'] => { 'group' => 'nova', 'sections' => nova_compute_sections(node) },
        compute.dig('metadata_agent', 'config_file') => { 'group' => 'neutron', 'sections' => metadata_agent_sections(node, secret) },
      }
    end

    def units(node)
      Array(settings(node)['units']) + (libvirt?(node) ? Array(settings(node).dig('libvirt', 'units')) : [])
    end
  end
end
