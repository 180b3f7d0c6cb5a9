#
# Template variables of deployer_drbd_mysql: pure functions of the merged node
# attributes (plain Hash), shared by the resource and tests/chef_render.
module DeployerDrbdMysql
  module Helpers
    TEMPLATES = {
      'drbd.res' => { source: 'drbd.res.erb', variables: :drbd_resource },
      'mysqld.cnf' => { source: 'galera.cnf.erb', cookbook: 'deployer_galera', variables: :mysqld_config },
    }.freeze
    PROTOCOLS = %w(A B C).freeze
    BACKINGS = %w(drbd shared-disk).freeze

    module_function

    # 'drbd' or 'shared-disk' (attributes/default.rb says what each means).
    def backing(node)
      backing = node.dig('deployer', 'drbd_mysql', 'backing')
      return backing if BACKINGS.include?(backing)
      raise DeployerCommon::InvalidAttribute, "node['deployer']['drbd_mysql']['backing'] must be one of #{BACKINGS.join(', ')}, got #{backing.inspect}"
    end

    def drbd?(node)
      backing(node) == 'drbd'
    end

    # The block device MySQL's file system is on: DRBD's device, or the shared disk itself.
    def data_device(node)
      drbd = node.dig('deployer', 'drbd_mysql')
      raise DeployerCommon::InvalidAttribute, "node['deployer']['drbd_mysql']['disk'] is not set" if drbd['disk'].to_s.empty?
      drbd?(node) ? drbd.fetch('device') : drbd['disk']
    end

    # [mysqld] of the active/passive MariaDB (F7): it listens on the DB VIP, which Pacemaker brings up
    # on the same node just before it (group fs_mysql, ip_mysql, mysqld), not on Debian's 127.0.0.1.
    def mysqld_config(node, _secret = nil)
      vip = DeployerCommon::Cluster.vip(node, node.dig('deployer', 'cluster', 'db_vip') || 'db')
      { 'sections' => { 'mysqld' => { 'bind-address' => vip['address'], 'port' => 3306 } } }
    end

    # The two DRBD peers are the two controllers of the explicit list, named by their hostnames.
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
        'fencing' => drbd.fetch('fencing'),
        'fence_peer_handler' => drbd.fetch('fence_peer_handler'),
        'unfence_peer_handler' => drbd.fetch('unfence_peer_handler'),
        'peers' => controllers.map { |member| { 'name' => member['name'], 'address' => "#{member['address']}:#{port}" } },
      }
    end
  end
end
