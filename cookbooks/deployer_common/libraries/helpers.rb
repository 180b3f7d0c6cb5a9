#
# Template variables for the generic OpenStack INI template.  Pure functions
# of plain hashes, shared by the resource and the rendering harness.
module DeployerCommon
  module Helpers
    # Templates this cookbook renders from node attributes (the INI template is fed by the
    # service cookbooks, which register their own entries).  See tests/chef_render/render.rb.
    TEMPLATES = {
      'hosts' => { source: 'hosts.erb', variables: :hosts_file },
    }.freeze

    module_function

    HOSTNAME = /\A(?=.{1,63}\z)[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\z/.freeze

    # The node name as this server's hostname: one DNS label (letters, digits, inner '-').
    def check_hostname!(name)
      return if HOSTNAME.match?(name.to_s)

      raise InvalidAttribute, "node name #{name.inspect} cannot be this server's hostname (one label of letters, " \
                              "digits and inner '-', at most 63): rename the node or set node['deployer']['set_hostname'] false"
    end

    # {'entries' => [[address, [names]], ...]} for hosts.erb: every controller, and this node
    # (a compute is in no list).  When the cookbook names the server after its node
    # (set_hostname), the node name is this node's only name: it is the canonical name
    # `hostname -f` reports (Open vSwitch records that as the OVN chassis hostname), and the
    # name the server had before would make the file change again on the next run.  Otherwise
    # the server's own FQDN comes first and its host name is an alias, each name once.
    def hosts_file(node, _secret = nil)
      entries = Cluster.controllers(node).map { |c| [c['address'], [c['name']]] }
      mine = entries.find { |_, names| names.include?(node['name']) }
      entries << (mine = [Cluster.my_address(node), [node['name']]]) unless mine
      unless node.dig('deployer', 'set_hostname')
        mine[1].replace(([node['fqdn']] + mine[1] + [node['hostname']]).compact.reject(&:empty?).uniq)
      end
      { 'entries' => entries }
    end

    # {'service_config' => {section => {option => 'string'}}} for
    # openstack-service.conf.erb.  Booleans become True/False (oslo.config),
    # lists are comma-joined, nil options are left out.
    def service_config(sections)
      raise InvalidAttribute, 'service config must be a Hash of section => {option => value}' unless sections.is_a?(Hash)
      rendered = sections.each_with_object({}) do |(section, options), result|
        raise InvalidAttribute, "service config section [#{section}] must be a Hash" unless options.is_a?(Hash)
        result[section.to_s] = options.each_with_object({}) do |(key, value), lines|
          lines[key.to_s] = ini_value(value) unless value.nil?
        end
      end
      { 'service_config' => rendered }
    end

    def ini_value(value)
      case value
      when true then 'True'
      when false then 'False'
      when Array then value.map(&:to_s).join(',')
      else value.to_s
      end
    end
  end
end
