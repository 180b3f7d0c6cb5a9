#
# Template variables for keepalived.conf, from the node's merged attributes (a
# plain Hash) and a secret lookup, shared by the resource and tests/chef_render.
module DeployerKeepalived
  module Helpers
    TEMPLATES = {
      'keepalived.conf' => { source: 'keepalived.conf.erb', variables: :keepalived_config },
    }.freeze

    # keepalived's PASS authentication uses at most 8 characters of auth_pass.
    AUTH_PASS_MAX = 8

    module_function

    # {'router_id', 'garp', 'check', 'instances'} for keepalived.conf.erb.
    # secret: callable (bag, item, key) -> String, for each cluster's auth_pass.
    def keepalived_config(node, secret)
      settings = node.dig('deployer', 'keepalived') || {}
      vips = DeployerCommon::Vrrp.check_unique_vrids!(node.dig('deployer', 'vips') || {})
      controllers = DeployerCommon::Cluster.controllers(node)
      me = DeployerCommon::Cluster.me(node)
      index = DeployerCommon::Cluster.my_index(node)
      {
        'router_id' => node['name'],
        'vrrp_version' => vrrp_version(settings),
        'garp' => settings['garp'] || {},
        'check' => check_script(node, settings['check'] || {}),
        'instances' => carried_clusters(vips, settings).map do |cluster|
          instance(cluster, vips[cluster], settings, controllers, me, index, secret, node)
        end,
      }
    end

    def carried_clusters(vips, settings)
      wanted = Array(settings['vips'])
      return vips.keys if wanted.empty?
      missing = wanted - vips.keys
      unless missing.empty?
        raise DeployerCommon::InvalidAttribute, "node['deployer']['keepalived']['vips'] names unknown VIP clusters: #{missing.join(', ')}"
      end
      wanted
    end

    def check_script(node, check)
      monitor = node.dig('deployer', 'haproxy', 'monitor') || {}
      url = "http://#{monitor['bind_address']}:#{monitor['port']}#{monitor['uri']}"
      check.merge('script' => "#{check['curl']} -sf -m #{check['timeout']} -o /dev/null #{url}")
    end

    def instance(cluster, vip, settings, controllers, me, index, secret, node)
      DeployerCommon::Cluster.vip(node, cluster)
      nopreempt = settings['nopreempt'] ? true : false
      {
        'name' => "VI_#{cluster.gsub(/[^A-Za-z0-9_]/, '_')}",
        'state' => !nopreempt && index.zero? ? 'MASTER' : 'BACKUP',
        'interface' => vip['interface'],
        'virtual_router_id' => vip['virtual_router_id'],
        'priority' => priority(settings, controllers.size, index),
        'advert_int' => advert_int(settings),
        'nopreempt' => nopreempt,
        'unicast_src_ip' => settings['unicast'] ? me['address'] : nil,
        'unicast_peers' => settings['unicast'] ? controllers.reject { |c| c['name'] == me['name'] }.map { |c| c['address'] } : [],
        # VRRPv3 has no authentication; v2's PASS needs the cluster's secret.
        'auth_pass' => vrrp_version(settings) == 2 ? auth_pass(cluster, vip, secret, node) : nil,
        'virtual_ipaddress' => "#{vip['address']}/#{vip['prefix'] || 32} dev #{vip['interface']}",
      }
    end

    def vrrp_version(settings)
      version = (settings['vrrp_version'] || 2).to_i
      return version if [2, 3].include?(version)
      raise DeployerCommon::InvalidAttribute, "node['deployer']['keepalived']['vrrp_version'] is #{settings['vrrp_version'].inspect}, not 2 or 3"
    end

    # keepalived rounds a fractional v2 interval up to whole seconds with only a log line:
    # refuse it here instead.
    def advert_int(settings)
      value = Float(settings['advert_int'])
      whole = value == value.round
      raise DeployerCommon::InvalidAttribute, "node['deployer']['keepalived']['advert_int'] must be positive, not #{settings['advert_int']}" unless value.positive?
      if vrrp_version(settings) == 2 && !whole
        raise DeployerCommon::InvalidAttribute,
              "node['deployer']['keepalived']['advert_int'] #{settings['advert_int']} must be whole seconds with vrrp_version 2 " \
              "(fractional needs vrrp_version 3)"
      end
      whole ? value.round : value
    end

    def priority(settings, count, index)
      value = settings['base_priority'].to_i + (count - 1 - index)
      return value if value.between?(1, 254)
      raise DeployerCommon::InvalidAttribute,
            "node['deployer']['keepalived']['base_priority'] gives priority #{value}, outside 1..254 for #{count} controllers"
    end

    def auth_pass(cluster, vip, secret, node)
      item = vip['auth_pass_item']
      raise DeployerCommon::InvalidAttribute, "node['deployer']['vips']['#{cluster}']['auth_pass_item'] is not set" if item.to_s.empty?
      bag = node.dig('deployer', 'secrets', 'data_bag')
      value = secret.call(bag, item, 'auth_pass')
      if value.length > AUTH_PASS_MAX || value =~ /[\s"]/
        raise DeployerCommon::InvalidAttribute,
              "auth_pass in data bag item #{bag}/#{item} must be 1..#{AUTH_PASS_MAX} characters without blanks or quotes"
      end
      value
    end
  end
end
