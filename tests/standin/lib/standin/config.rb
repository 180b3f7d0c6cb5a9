# frozen_string_literal: true

require 'chef-config/config'

module Standin
  # client.rb through Debian's chef-config (the library chef-client itself uses),
  # with command-line options applied on top, as chef-client does.
  class Config
    SETTINGS = %i(chef_server_url node_name client_key log_location log_level ssl_verify_mode
                  file_cache_path file_backup_path encrypted_data_bag_secret cookbook_path
                  role_path environment_path data_bag_path node_path lockfile run_lock_timeout
                  why_run local_mode environment json_attribs override_runlist).freeze

    def self.load(path, overrides)
      config = ChefConfig::Config
      config.reset
      if File.exist?(path)
        begin
          config.from_file(path)
        rescue StandardError, ScriptError => e
          raise Error, "cannot load configuration #{path}: #{e.class}: #{e.message}"
        end
      elsif !overrides[:local_mode]
        raise Error, "configuration file #{path} does not exist"
      end
      overrides.each { |key, value| config[key] = value unless value.nil? }
      new(config)
    end

    def initialize(config)
      @config = config
    end

    def [](key)
      @config[key]
    end

    def node_name
      name = @config[:node_name]
      raise Error, 'client.rb sets no node_name (and -N was not given)' if name.to_s.empty?

      name
    end

    def verify_tls?
      @config[:ssl_verify_mode].to_s != 'verify_none'
    end

    def file_cache_path
      @config[:file_cache_path]
    end

    def lockfile
      @config[:lockfile] || File.join(file_cache_path, 'chef-client-running.pid')
    end

    def why_run?
      @config[:why_run] ? true : false
    end

    def local_mode?
      @config[:local_mode] ? true : false
    end
  end
end
