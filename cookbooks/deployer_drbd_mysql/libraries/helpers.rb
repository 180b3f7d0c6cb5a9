#
# Template variables of deployer_drbd_mysql: pure functions of the merged node
# attributes (plain Hash), shared by the resource and tests/chef_render.
module DeployerDrbdMysql
  module Helpers
    TEMPLATES = {
      'drbd.res' => { source: 'drbd.res.erb', variables: :drbd_resource },
    }.freeze
    PROTOCOLS = %w(A B C).freeze

    module_function

    # The two DRBD peers are the two controllers, node-id = position in the explicit list.
    def drbd_resource(node, _secret = nil)
      controllers = DeployerCommon::Cluster.controllers(node)
      unless controllers.length == 2
        raise DeployerCommon::InvalidAttribute, "DRBD needs exactly 2 nodes in node['deployer']['cluster']['controllers'], got #{controllers.length}"
      end

      drbd = node.dig('deployer', 'drbd_mysql')
      raise DeployerCommon::InvalidAttribute, "node['deployer']['drbd_mysql']['disk'] is not set" if drbd['disk'].to_s.empty?

      protocol = drbd.fetch('protocol')
      unless PROTOCOLS.include?(protocol)
        raise DeployerCommon::InvalidAttribute, "node['deployer']['drbd_mysql']['protocol'] must be A, B or C, got #{protocol.inspect}"
      end

      port = Integer(drbd.fetch('port'))
      {
        'resource' => drbd.fetch('resource'),
        'protocol' => protocol,
        'device' => drbd.fetch('device'),
        'disk' => drbd['disk'],
        'meta_disk' => drbd.fetch('meta_disk'),
        'peers' => controllers.each_with_index.map do |member, index|
          { 'name' => member['name'], 'node_id' => index, 'address' => "#{member['address']}:#{port}" }
        end,
      }
    end
  end
end
