require 'json'
require 'ipaddr'

#
# RabbitMQ settings computed from the node's merged attributes (a plain Hash),
# shared by the resources, the rendering harness (tests/chef_render) and the
# service cookbooks (rabbit_hosts / transport_url / messaging_options).
module DeployerRabbitmq
  module Helpers
    TEMPLATES = {
      'rabbitmq.conf' => { source: 'rabbitmq.conf.erb', variables: :rabbitmq_conf },
      'advanced.config' => { source: 'advanced.config.erb', variables: :advanced_config },
      'rabbitmq-env.conf' => { source: 'rabbitmq-env.conf.erb', variables: :rabbitmq_env },
    }.freeze

    QUEUE_TYPES = %w(classic_mirrored quorum).freeze
    PARTITION_HANDLING = %w(pause_minority autoheal ignore).freeze

    module_function

    def settings(node)
      node.dig('deployer', 'rabbitmq') || {}
    end

    def bind_address(node)
      settings(node)['bind_address'] || DeployerCommon::Cluster.me(node)['address']
    end

    # {'settings' => {key => value}} for rabbitmq.conf.erb (new-style sysctl format).
    def rabbitmq_conf(node, _secret = nil)
      rabbit = settings(node)
      handling = partition_handling(node)
      unless PARTITION_HANDLING.include?(handling)
        raise DeployerCommon::InvalidAttribute,
              "node['deployer']['rabbitmq']['cluster_partition_handling'] must be one of #{PARTITION_HANDLING.join(', ')}, got #{handling.inspect}"
      end
      conf = { 'listeners.tcp.default' => "#{bind_address(node)}:#{rabbit['port']}" }
      loopback = Array(rabbit['loopback_users'])
      if loopback.empty?
        conf['loopback_users'] = 'none'
      else
        loopback.each { |user| conf["loopback_users.#{user}"] = 'true' }
      end
      conf['cluster_partition_handling'] = handling
      conf['log.file.level'] = rabbit['log_level']
      { 'settings' => conf }
    end

    # The configured policy, else: pause_minority only for classic mirrored queues on 3 or more
    # brokers (mirrors can diverge across a partition); autoheal otherwise.  Quorum queues are
    # Raft-safe across a partition, and pause_minority never heals a partition its minority did
    # not see happen: a controller hung longer than net_ticktime came back running alone, for
    # good (certify's hang fault).  autoheal restarts the losing side once the nodes meet again.
    def partition_handling(node)
      settings(node)['cluster_partition_handling'] ||
        (queue_type(node) == 'classic_mirrored' && DeployerCommon::Cluster.controllers(node).size >= 3 ? 'pause_minority' : 'autoheal')
    end

    # {'kernel' => [[key, erlang term], ...]} for advanced.config.erb.
    def advanced_config(node, _secret = nil)
      ticktime = settings(node)['net_ticktime']
      unless ticktime.is_a?(Integer) && ticktime.positive?
        raise DeployerCommon::InvalidAttribute, "node['deployer']['rabbitmq']['net_ticktime'] must be a positive integer, got #{ticktime.inspect}"
      end
      kernel = [['net_ticktime', ticktime.to_s]]
      address = IPAddr.new(bind_address(node))
      # Keep inter-node distribution on the cluster address, not every interface.
      kernel << ['inet_dist_use_interface', "{#{address.to_s.split('.').join(',')}}"] if address.ipv4?
      { 'kernel' => kernel }
    end

    # {'env' => {NAME => value}} for rabbitmq-env.conf.erb.
    def rabbitmq_env(node, _secret = nil)
      rabbit = settings(node)
      env = { 'NODENAME' => node_name(node, DeployerCommon::Cluster.me(node)) }
      env['USE_LONGNAME'] = 'true' if rabbit['use_longname']
      env['DIST_PORT'] = rabbit['dist_port'].to_s
      { 'env' => env }
    end

    # Erlang node name of a controller entry: rabbit@<name>, or rabbit@<address> with long names.
    def node_name(node, controller)
      "rabbit@#{settings(node)['use_longname'] ? controller['address'] : controller['name']}"
    end

    # The broker every other node joins (the deployer's choice, never search).
    def seed(node)
      name = settings(node)['seed_node']
      raise DeployerCommon::InvalidAttribute, "node['deployer']['rabbitmq']['seed_node'] is not set: the deployer must choose it" if name.to_s.empty?
      DeployerCommon::Cluster.controllers(node).find { |c| c['name'] == name } ||
        raise(DeployerCommon::InvalidAttribute, "node['deployer']['rabbitmq']['seed_node'] #{name} is not one of the controllers")
    end

    # Does `rabbitmqctl cluster_status --formatter json` (parsed) list node_name as a member?
    def cluster_member?(status, node_name)
      (Array(status['disk_nodes']) + Array(status['ram_nodes'])).include?(node_name)
    end

    # Names of the quorum queues in `rabbitmqctl list_queues name type members --formatter json`
    # (parsed) that do not list node_name as a member.
    def quorum_queues_without(queues, node_name)
      queues.select { |q| q['type'].to_s == 'quorum' && !Array(q['members']).include?(node_name) }.map { |q| q['name'] }
    end

    # rabbit_hosts for the services: every broker, host:port, in controller order.
    def rabbit_hosts(node)
      port = settings(node)['port']
      DeployerCommon::Cluster.controllers(node).map { |c| "#{c['address']}:#{port}" }.join(',')
    end

    # oslo.messaging transport_url listing every broker.
    def transport_url(node, user, password, vhost = nil)
      vhost ||= settings(node)['vhost'] || '/'
      hosts = rabbit_hosts(node).split(',').map { |host| "#{user}:#{password}@#{host}" }
      "rabbit://#{hosts.join(',')}/#{vhost == '/' ? '' : vhost}"
    end

    def queue_type(node)
      type = settings(node)['queue_type']
      return type if QUEUE_TYPES.include?(type)
      raise DeployerCommon::InvalidAttribute, "node['deployer']['rabbitmq']['queue_type'] must be one of #{QUEUE_TYPES.join(', ')}, got #{type.inspect}"
    end

    # [oslo_messaging_rabbit]: the options that follow the queue type (mutually exclusive in
    # oslo), then the client's reconnection settings.
    def messaging_options(node)
      quorum = queue_type(node) == 'quorum'
      { 'rabbit_ha_queues' => !quorum, 'rabbit_quorum_queue' => quorum }.merge(settings(node)['client'] || {})
    end

    # The mirroring policy, or nil with quorum queues (policy must then be cleared).
    def ha_policy(node)
      return nil if queue_type(node) == 'quorum'
      policy = settings(node)['ha_policy'] || {}
      %w(name pattern definition).each do |key|
        raise DeployerCommon::InvalidAttribute, "node['deployer']['rabbitmq']['ha_policy']['#{key}'] is not set" unless policy[key]
      end
      policy.merge('definition' => JSON.generate(policy['definition']))
    end

    # Is the wanted HA policy already in place?  policies: the parsed output of
    # `rabbitmqctl list_policies --formatter json` (definition may be a JSON string).
    def policy_current?(node, policies)
      wanted = ha_policy(node)
      return false unless wanted
      current = Array(policies).find { |p| p['name'] == wanted['name'] }
      return false unless current
      definition = current['definition'].is_a?(String) ? JSON.parse(current['definition']) : current['definition']
      current['pattern'] == wanted['pattern'] && definition == JSON.parse(wanted['definition']) &&
        current['apply-to'] == (wanted['apply_to'] || 'queues') && current['priority'].to_i == wanted['priority'].to_i
    end

    # rabbitmqctl arguments that apply the policy (resource and tests use the same).
    def set_policy_args(node)
      policy = ha_policy(node)
      return nil unless policy
      ['set_policy', '-p', settings(node)['vhost'] || '/', '--apply-to', policy['apply_to'] || 'queues',
       '--priority', policy['priority'].to_i.to_s, policy['name'], policy['pattern'], policy['definition']]
    end
  end
end
