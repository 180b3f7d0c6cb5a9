#
# Template variables of deployer_pacemaker: pure functions of the merged node
# attributes (a plain Hash, what node.to_hash gives) so a converge and the
# rendering harness (tests/chef_render) compute the same files.
module DeployerPacemaker
  module Helpers
    TEMPLATES = {
      'corosync.conf' => { source: 'corosync.conf.erb', variables: :corosync_config },
      'cib.xml' => { source: 'cib.xml.erb', variables: :cib_config },
    }.freeze

    NO_QUORUM_POLICIES = %w(ignore stop freeze demote).freeze

    module_function

    # Controllers with corosync node ids: 1-based positions in the explicit list,
    # so every member derives the same ids.
    def members(node)
      DeployerCommon::Cluster.controllers(node).each_with_index.map do |member, index|
        member.merge('nodeid' => index + 1)
      end
    end

    def corosync_config(node, _secret = nil)
      pacemaker = node.dig('deployer', 'pacemaker')
      members = members(node)
      {
        'cluster_name' => pacemaker.fetch('cluster_name'),
        'transport' => pacemaker.fetch('transport'),
        'crypto_cipher' => pacemaker.fetch('crypto_cipher'),
        'crypto_hash' => pacemaker.fetch('crypto_hash'),
        'keyfile' => pacemaker.fetch('authkey_path'),
        'token' => token(pacemaker['token']),
        'members' => members,
        # votequorum two_node: a 2-node cluster keeps quorum when one node is lost.
        'two_node' => members.length == 2,
      }
    end

    # corosync's totem token (ms), or nil for corosync's default.
    def token(value)
      return nil if value.nil? || value.to_s.empty?
      token = Integer(value.to_s, exception: false)
      raise DeployerCommon::InvalidAttribute, "node['deployer']['pacemaker']['token'] must be a number of ms from 200, got #{value.inspect}" unless token && token >= 200
      token
    end

    # The whole CIB <configuration>: cluster options, A/P singleton services,
    # VIPs Pacemaker moves, and (where a role enables it) the DRBD MySQL group.
    def cib_config(node, _secret = nil)
      pacemaker = node.dig('deployer', 'pacemaker')
      members = members(node)
      {
        'properties' => {
          'stonith-enabled' => pacemaker.fetch('stonith_enabled').to_s,
          'no-quorum-policy' => no_quorum_policy(pacemaker['no_quorum_policy'], members.length),
          'cluster-name' => pacemaker.fetch('cluster_name'),
        },
        'resource_stickiness' => Integer(pacemaker.fetch('resource_stickiness')),
        'members' => members,
        'services' => Array(pacemaker['ap_services']).map do |unit|
          { 'id' => "p_#{unit}", 'unit' => unit, 'monitor_interval' => pacemaker.fetch('monitor_interval'),
            'timeouts' => pacemaker.fetch('service_timeouts'),
            'meta' => { 'failure-timeout' => pacemaker.fetch('failure_timeout'),
                        'multiple-active' => pacemaker.fetch('multiple_active') } }
        end,
        'vips' => Array(pacemaker['vips']).map { |cluster| ipaddr2(node, cluster, "vip_#{cluster}") },
        'drbd_mysql' => pacemaker['drbd_mysql'] ? drbd_mysql(node) : nil,
      }
    end

    # The attribute when set, else 'ignore' on a pair (the origin's) and 'stop' on three or more.
    def no_quorum_policy(value, member_count)
      return (member_count > 2 ? 'stop' : 'ignore') if value.nil? || value.to_s.empty?
      return value if NO_QUORUM_POLICIES.include?(value)

      raise DeployerCommon::InvalidAttribute, "node['deployer']['pacemaker']['no_quorum_policy'] must be one of #{NO_QUORUM_POLICIES.join(', ')}, got #{value.inspect}"
    end

    # One node loads the CIB: the first controller of the explicit list (the deployer converges it first).
    def cib_writer?(node)
      members(node).first['name'] == node['name']
    end

    # From `crm_mon -1 --output-as=xml`: does resource `id` have a failed operation recorded on
    # node `name`, or run nowhere?  (Then `crm_resource --refresh` lets Pacemaker place it again.)
    def needs_refresh?(crm_mon_xml, id, name)
      # No DC elected yet (Pacemaker just started here): nothing was probed, and crm_resource
      # --refresh would fail; the DC probes the configured unit once it is elected.
      return false unless crm_mon_xml =~ /<current_dc\b[^>]*\bpresent="true"/
      failed_here = crm_mon_xml.scan(/<failure\b[^>]*>/).any? do |failure|
        failure.include?(%( node="#{name}")) && failure =~ /\bop_key="#{Regexp.escape(id)}_[a-z_]+_\d+"/
      end
      resource = crm_mon_xml[%r{<resource id="#{Regexp.escape(id)}"[^>]*>}]
      failed_here || resource.nil? || !resource.include?('active="true"')
    end

    def ipaddr2(node, cluster, id)
      vip = DeployerCommon::Cluster.vip(node, cluster)
      { 'id' => id, 'address' => vip['address'], 'prefix' => vip.fetch('prefix', 24), 'interface' => vip['interface'] }
    end

    # The origin's crm_mon picture: ms_drbd_mysql (promotable clone of ocf:linbit:drbd)
    # and group mysql = fs_mysql, ip_mysql, mysqld, kept with the promoted copy, started after
    # promotion; on a shared disk, the group alone mounts the disk itself.
    def drbd_mysql(node)
      count = members(node).length
      unless count == 2
        raise DeployerCommon::InvalidAttribute, "DRBD MySQL needs exactly 2 controllers in node['deployer']['cluster']['controllers'], got #{count}"
      end

      drbd = node.dig('deployer', 'drbd_mysql')
      pacemaker = node.dig('deployer', 'pacemaker')
      {
        # Without DRBD (a shared disk) the group alone: no promotable clone, no constraints on it.
        'drbd' => DeployerDrbdMysql::Helpers.drbd?(node),
        'drbd_resource' => drbd.fetch('resource'),
        'device' => DeployerDrbdMysql::Helpers.data_device(node),
        'mount_point' => drbd.fetch('mount_point'),
        'fstype' => drbd.fetch('fstype'),
        'mysql_unit' => drbd.fetch('service'),
        # MariaDB is a service like the others (crash recovery can outlast 20 s under load).
        'mysql_timeouts' => pacemaker.fetch('service_timeouts'),
        'filesystem_timeouts' => pacemaker.fetch('filesystem_timeouts'),
        'failure_timeout' => pacemaker.fetch('failure_timeout'),
        'ip' => ipaddr2(node, node.dig('deployer', 'cluster', 'db_vip') || 'db', 'ip_mysql'),
      }
    end
  end
end
