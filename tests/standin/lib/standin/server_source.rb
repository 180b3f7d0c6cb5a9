# frozen_string_literal: true

require 'cgi'

module Standin
  # Where a server run gets nodes, environments, roles, data bags and cookbooks.
  class ServerSource
    def initialize(api, config, output)
      @api = api
      @config = config
      @output = output
    end

    def server?
      true
    end

    def node(name)
      @api.get("/nodes/#{esc(name)}")
    rescue ServerError => e
      raise unless e.status == 404

      nil
    end

    def create_node(data)
      @api.post('/nodes', data)
    end

    def save_node(data)
      @api.put("/nodes/#{esc(data['name'])}", data)
    end

    def environment(name)
      @api.get("/environments/#{esc(name)}")
    rescue ServerError => e
      raise Error, "The environment '#{name}' does not exist on the Chef server" if e.status == 404

      raise
    end

    def role(name)
      @api.get("/roles/#{esc(name)}")
    rescue ServerError => e
      raise Error, "Role not found: role[#{name}] does not exist on the Chef server" if e.status == 404

      raise
    end

    def cookbooks(environment, recipes)
      CookbookSync.new(@api, File.join(@config.file_cache_path, 'cookbooks'), @output).sync(environment, recipes)
    end

    # Chef's REST layer raises Net::HTTPClientException for 4xx; cookbooks rescue it.
    def data_bag_item(bag, item)
      @api.get("/data/#{esc(bag)}/#{esc(item)}")
    rescue ServerError => e
      raise unless e.response && e.status.between?(400, 499)

      raise Net::HTTPClientException.new("#{e.status} \"#{e.response.message}\"", e.response)
    end

    private

    def esc(text)
      CGI.escape(text.to_s).gsub('+', '%20')
    end
  end
end
