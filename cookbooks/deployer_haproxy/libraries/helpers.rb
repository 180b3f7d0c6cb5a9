#
# Template variables for haproxy.cfg, computed from the node's merged
# attributes (a plain Hash, as node.to_hash gives) so the recipe and the
# rendering harness (tests/chef_render) build exactly the same config.
module DeployerHaproxy
  module Helpers
    TEMPLATES = {
      'haproxy.cfg' => { source: 'haproxy.cfg.erb', variables: :haproxy_config },
    }.freeze

    BALANCE_ALGORITHMS = %w(roundrobin source leastconn).freeze
    CHECKS = %w(httpchk ssl-hello-chk tcp).freeze

    module_function

    # {'global', 'defaults', 'stats', 'monitor', 'listeners'} for haproxy.cfg.erb.
    # HAProxy renders no secret (mysql-check uses a password-less user).
    def haproxy_config(node, _secret = nil)
      settings = node.dig('deployer', 'haproxy') || {}
      controllers = DeployerCommon::Cluster.controllers(node)
      me = DeployerCommon::Cluster.me(node)
      {
        'global' => settings['global'] || {},
        'defaults' => settings['defaults'] || {},
        'stats' => stats(settings['stats'] || {}, me),
        'monitor' => settings['monitor'] || {},
        'listeners' => api_listeners(node, settings, controllers) + galera_listeners(node, settings, controllers),
        'peers' => galera_peers(settings, controllers, me),
      }
    end

    PEERS = 'galera_writers'.freeze

    # The HAProxies that share the Galera listeners' current writers (no failback), or nil.
    def galera_peers(settings, controllers, me)
      galera = settings['galera'] || {}
      return nil if !galera['enabled'] || galera['failback']
      port = port!(galera['peers_port'], "node['deployer']['haproxy']['galera']['peers_port']")
      {
        'name' => PEERS,
        'local' => me['name'],
        'members' => controllers.map { |c| [c['name'], "#{c['address']}:#{port}"] },
      }
    end

    def stats(stats, me)
      return { 'enabled' => false } unless stats['enabled']
      stats.merge('bind' => "#{stats['bind_address'] || me['address']}:#{port!(stats['port'], "node['deployer']['haproxy']['stats']['port']")}")
    end

    def server_check(settings)
      check = settings['check'] || {}
      "check inter #{check['inter']} rise #{check['rise']} fall #{check['fall']}"
    end

    # One `listen` per enabled OpenStack API service, every controller active.
    def api_listeners(node, settings, controllers)
      (settings['services'] || {}).select { |_, service| service['enabled'] }.map do |name, service|
        field = "node['deployer']['haproxy']['services']['#{name}']"
        port = port!(service['port'], "#{field}['port']")
        backend_port = port!(service['backend_port'] || port, "#{field}['backend_port']")
        vip = DeployerCommon::Cluster.vip(node, service['vip'] || node.dig('deployer', 'cluster', 'api_vip') || 'api')
        {
          'name' => name,
          'bind' => "#{vip['address']}:#{port}",
          'mode' => 'tcp',
          'balance' => one_of!(service['balance'], BALANCE_ALGORITHMS, "#{field}['balance']"),
          # redispatch: a connection that still fails after the retries goes to another
          # controller; in tcp mode the client is otherwise closed without a response while
          # the checks have not yet marked a dead server down
          'options' => ['tcpka', check_option(service, field), 'tcplog', 'redispatch'].compact,
          'timeouts' => service['timeouts'] || {},
          'servers' => controllers.map { |c| "#{c['name']} #{c['address']}:#{backend_port} #{server_check(settings)}" },
        }
      end
    end

    def check_option(service, field)
      case one_of!(service['check'] || 'httpchk', CHECKS, "#{field}['check']")
      when 'httpchk' then ['httpchk', service['httpchk_request']].compact.join(' ')
      when 'ssl-hello-chk' then 'ssl-hello-chk'
      end
    end

    # The single-writer Galera listeners: 3306 with the first controller as
    # writer, then one per service database port with the writer rotated.
    def galera_listeners(node, settings, controllers)
      galera = settings['galera'] || {}
      return [] unless galera['enabled']
      vip = DeployerCommon::Cluster.vip(node, node.dig('deployer', 'cluster', 'db_vip') || 'db')
      databases = DeployerCommon::Cluster.databases(node).map do |service, database|
        [service, port!(database['port'], "node['deployer']['databases']['#{service}']['port']")]
      end
      shared = ['mysql-cluster', port!(galera['port'], "node['deployer']['haproxy']['galera']['port']"), controllers.first]
      per_service = databases.sort_by(&:last).each_with_index.map do |(service, port), index|
        ["mysql-cluster-#{service}", port, DeployerCommon::Cluster.primary_for(controllers, index)]
      end
      ([shared] + per_service).map do |name, port, writer|
        galera_listener(name, "#{vip['address']}:#{port}", writer, controllers, galera, settings)
      end
    end

    def galera_listener(name, bind, writer, controllers, galera, settings)
      backend_port = port!(galera['backend_port'], "node['deployer']['haproxy']['galera']['backend_port']")
      {
        'name' => name,
        'bind' => bind,
        'mode' => 'tcp',
        'balance' => 'leastconn',
        'options' => ['tcpka', "mysql-check user #{galera['check_user']}"],
        'timeouts' => galera['timeouts'] || {},
        # One entry: the VIP -> the server writing now, replaced only when that one is down.
        # Size 2: HAProxy makes the new entry before it replaces the old one, and with size 1
        # and nopurge the failover was never stored (measured: the writes went back).
        'stick' => galera['failback'] ? [] : ["stick-table type ip size 2 nopurge peers #{PEERS}", 'stick on dst'],
        'servers' => controllers.map do |c|
          line = "#{c['name']} #{c['address']}:#{backend_port} #{server_check(settings)}"
          line += " on-marked-down #{galera['on_marked_down']}" if galera['on_marked_down']
          if c['name'] == writer['name']
            line += " on-marked-up #{galera['on_marked_up']}" if galera['on_marked_up'] && galera['failback']
            line
          else
            "#{line} backup"
          end
        end,
      }
    end

    def port!(value, field)
      return value if value.is_a?(Integer) && value.between?(1, 65_535)
      raise DeployerCommon::InvalidAttribute, "#{field} must be a port number (1..65535), got #{value.inspect}"
    end

    def one_of!(value, allowed, field)
      return value if allowed.include?(value)
      raise DeployerCommon::InvalidAttribute, "#{field} must be one of #{allowed.join(', ')}, got #{value.inspect}"
    end
  end
end
