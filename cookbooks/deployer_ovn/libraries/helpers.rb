#
# OVN settings computed from the node's merged attributes (a plain Hash), shared by the
# resources, tests/chef_render and deployer_openstack (Neutron's and the metadata agent's
# connections to the OVN databases).
module DeployerOvn
  module Helpers
    TEMPLATES = {
      'ovn-central' => { source: 'ovn-central.erb', variables: :central_defaults },
    }.freeze
    DATAPATH_TYPES = %w(system netdev).freeze

    module_function

    def settings(node)
      node.dig('deployer', 'ovn') || {}
    end

    # tcp:<controller>:<port>,... in controller order: clients fail over between them.
    def connection(node, port_key)
      port = Integer(settings(node).fetch(port_key))
      DeployerCommon::Cluster.controllers(node).map { |c| "tcp:#{c['address']}:#{port}" }.join(',')
    end

    def nb_connection(node)
      connection(node, 'nb_port')
    end

    def sb_connection(node)
      connection(node, 'sb_port')
    end

    # OVN_CTL_OPTS for /etc/default/ovn-central (read by the NB, SB and northd units): the
    # databases listen on this controller's address; several controllers form RAFT clusters
    # created by the first and joined by the others.
    def central_defaults(node, _secret = nil)
      ovn = settings(node)
      controllers = DeployerCommon::Cluster.controllers(node)
      me = DeployerCommon::Cluster.me(node)
      options = %w(nb sb).flat_map do |db|
        list = ["--db-#{db}-addr=#{me['address']}", "--db-#{db}-port=#{Integer(ovn.fetch("#{db}_port"))}",
                "--db-#{db}-create-insecure-remote=yes"]
        if controllers.size > 1
          cluster_port = Integer(ovn.fetch("#{db}_cluster_port"))
          list << "--db-#{db}-cluster-local-addr=#{me['address']}" << "--db-#{db}-cluster-local-port=#{cluster_port}"
          unless controllers.first['name'] == me['name']
            list << "--db-#{db}-cluster-remote-addr=#{controllers.first['address']}" << "--db-#{db}-cluster-remote-port=#{cluster_port}"
          end
        end
        list
      end
      # ovn-northd reaches the databases wherever their leader is.
      options << "--ovn-northd-nb-db=#{nb_connection(node)}" << "--ovn-northd-sb-db=#{sb_connection(node)}"
      { 'options' => options.join(' ') }
    end

    # external_ids of this chassis in the local Open vSwitch database.
    def chassis_external_ids(node)
      ovn = settings(node)
      datapath = ovn['datapath_type']
      unless DATAPATH_TYPES.include?(datapath)
        raise DeployerCommon::InvalidAttribute, "node['deployer']['ovn']['datapath_type'] must be one of #{DATAPATH_TYPES.join(', ')}, got #{datapath.inspect}"
      end
      {
        'system-id' => node['name'],
        # Neutron binds a port to the chassis whose hostname is nova's host (nova.conf host = node name).
        'hostname' => node['name'],
        'ovn-remote' => sb_connection(node),
        'ovn-encap-type' => ovn['encap_type'],
        'ovn-encap-ip' => DeployerCommon::Cluster.my_address(node),
        'ovn-bridge-datapath-type' => datapath,
      }
    end

    # The wanted external_ids the local Open vSwitch does not hold, as key => [current, wanted]
    # (empty: registered).  listing: the parsed output of
    # `ovs-vsctl --format=json --columns=external_ids list Open_vSwitch`.
    def external_ids_drift(wanted, listing)
      cell = Array(listing['data']).dig(0, 0)
      pairs = cell.is_a?(Array) && cell.first == 'map' ? cell.last.to_h : {}
      wanted.each_with_object({}) do |(key, value), drift|
        drift[key] = [pairs[key], value.to_s] unless pairs[key] == value.to_s
      end
    end

    # ovs-vsctl arguments that set them.
    def set_external_ids_args(wanted)
      ['set', 'Open_vSwitch', '.'] + wanted.map { |key, value| "external_ids:#{key}=\"#{value}\"" }
    end
  end
end
