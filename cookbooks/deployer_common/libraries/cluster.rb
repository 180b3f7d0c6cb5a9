require 'ipaddr'

#
# Cluster membership as the deployer passes it: explicit, ordered lists in
# node attributes, never Chef search.  Every function takes the node's merged
# attributes as a plain Hash (what `node.to_hash` returns: string keys, plus
# 'name') so the rendering harness can call them without Chef.
module DeployerCommon
  class InvalidAttribute < StandardError; end

  module Cluster
    module_function

    # The ordered controllers, validated: [{'name' => .., 'address' => ..}, ...].
    def controllers(node)
      list = node.dig('deployer', 'cluster', 'controllers')
      unless list.is_a?(Array) && !list.empty?
        raise InvalidAttribute, "node['deployer']['cluster']['controllers'] must be a non-empty list of {'name', 'address'}"
      end
      entries = list.each_with_index.map { |entry, index| controller_entry(entry, index) }
      duplicates = entries.group_by { |c| c['name'] }.select { |_, same| same.size > 1 }.keys
      unless duplicates.empty?
        raise InvalidAttribute, "node['deployer']['cluster']['controllers'] lists #{duplicates.join(', ')} more than once"
      end
      entries
    end

    # This node's own entry in the controllers list (matched by node name).
    def me(node)
      controllers(node).find { |c| c['name'] == node['name'] } ||
        raise(InvalidAttribute, "node #{node['name']} is not in node['deployer']['cluster']['controllers']")
    end

    # 0-based position of this node in the controllers list.
    def my_index(node)
      controllers(node).index { |c| c['name'] == node['name'] } ||
        raise(InvalidAttribute, "node #{node['name']} is not in node['deployer']['cluster']['controllers']")
    end

    # The node that owns once-per-deployment work (schema migrations, the Keystone catalog,
    # the CIB): the first controller, which the deployer converges first.
    def leader?(node)
      controllers(node).first['name'] == node['name']
    end

    # This node's management address: its controllers entry, else node['deployer']['address']
    # (set per node for computes), else ohai's default-route address.
    def my_address(node)
      entry = controllers(node).find { |c| c['name'] == node['name'] }
      address = entry ? entry['address'] : (node.dig('deployer', 'address') || node['ipaddress'])
      valid_address!(address, "node['deployer']['address'] (this node's management address)")
      address.to_s
    end

    # The controller that is primary for the index-th service: primaries rotate
    # over the ordered controllers so each service gets its own writer.
    def primary_for(controllers, index)
      controllers[index % controllers.size]
    end

    # One VIP definition by cluster name, with the fields every consumer needs.
    def vip(node, cluster)
      vip = (node.dig('deployer', 'vips') || {})[cluster]
      raise InvalidAttribute, "node['deployer']['vips']['#{cluster}'] is not defined" unless vip.is_a?(Hash)
      address = vip['address']
      valid_address!(address, "node['deployer']['vips']['#{cluster}']['address']")
      vip
    end

    # The service databases that are switched on: {service => {'port' => .., ...}}.
    # Attribute merges cannot delete a key, so an entry set to false/nil is off.
    def databases(node)
      (node.dig('deployer', 'databases') || {}).each_with_object({}) do |(service, database), result|
        next unless database
        raise InvalidAttribute, "node['deployer']['databases']['#{service}'] must be a Hash with a 'port'" unless database.is_a?(Hash)
        result[service] = database
      end
    end

    # SQLAlchemy URL for a service's database through its own HAProxy port on
    # the 'db' VIP (origin: mysql://svc_user:svc_password@mysql_lb_ip:port/service_database).
    def sql_connection(node, service, password, driver: 'mysql+pymysql')
      database = databases(node)[service]
      raise InvalidAttribute, "node['deployer']['databases']['#{service}'] is not defined" unless database.is_a?(Hash)
      address = vip(node, node.dig('deployer', 'cluster', 'db_vip') || 'db')['address']
      user = database['user'] || service
      name = database['database'] || service
      "#{driver}://#{user}:#{password}@#{address}:#{database['port']}/#{name}"
    end

    def controller_entry(entry, index)
      field = "node['deployer']['cluster']['controllers'][#{index}]"
      raise InvalidAttribute, "#{field} must be a Hash with 'name' and 'address'" unless entry.is_a?(Hash)
      name = entry['name']
      raise InvalidAttribute, "#{field}['name'] must be a non-empty string" unless name.is_a?(String) && !name.empty?
      valid_address!(entry['address'], "#{field}['address']")
      { 'name' => name, 'address' => entry['address'] }
    end

    def valid_address!(address, field)
      IPAddr.new(address.to_s)
      raise InvalidAttribute, "#{field} must be a single address, not a network" if address.to_s.include?('/')
    rescue IPAddr::Error
      raise InvalidAttribute, "#{field} is not an IP address: #{address.inspect}"
    end
  end
end
