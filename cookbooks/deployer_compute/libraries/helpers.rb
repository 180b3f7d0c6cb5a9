#
# Template variables of deployer_compute (pure, see tests/chef_render): a compute
# node's nova.conf is deployer_openstack's nova configuration plus the multi-host
# nova-network layer.
module DeployerCompute
  module Helpers
    TEMPLATES = {
      'nova.conf' => { source: 'openstack-service.conf.erb', cookbook: 'deployer_common', variables: :nova_conf },
    }.freeze
    NETWORK_MANAGERS = %w(
      nova.network.manager.FlatManager
      nova.network.manager.FlatDHCPManager
      nova.network.manager.VlanManager
    ).freeze

    module_function

    def nova_conf(node, secret)
      DeployerCommon::Helpers.service_config(DeployerOpenstack::Helpers.sections('nova', node, secret, network_sections(node)))
    end

    # multi_host and friends from attributes, network_manager from the environment's network
    # block, my_ip from the node's own address (ohai ipaddress).
    def network_sections(node)
      network = node.dig('deployer', 'network') || {}
      unless network['service_type'] == 'nova-network'
        raise DeployerCommon::InvalidAttribute,
              "node['deployer']['network']['service_type'] must be nova-network for multi-host compute, got #{network['service_type'].inspect}"
      end
      manager = network['network_manager']
      unless NETWORK_MANAGERS.include?(manager)
        raise DeployerCommon::InvalidAttribute,
              "node['deployer']['network']['network_manager'] must be one of #{NETWORK_MANAGERS.join(', ')}, got #{manager.inspect}"
      end
      address = node['ipaddress']
      raise DeployerCommon::InvalidAttribute, "node['ipaddress'] (the compute node's own address) is missing" if address.to_s.empty?

      base = node.dig('deployer', 'compute', 'nova', 'conf') || {}
      base.merge('DEFAULT' => (base['DEFAULT'] || {}).merge('network_manager' => manager, 'my_ip' => address))
    end
  end
end
