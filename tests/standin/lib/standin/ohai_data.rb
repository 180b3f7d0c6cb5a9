# frozen_string_literal: true

module Standin
  # Automatic attributes from Debian's ohai, running only the plugins that
  # provide what cookbooks and the deployer read (a full ohai run takes seconds).
  module OhaiData
    ATTRIBUTES = %w(platform platform_version platform_family os os_version kernel hostname machinename
                    fqdn domain ipaddress ip6address macaddress network init_package virtualization
                    cpu memory).freeze

    def self.collect(output)
      require 'ohai'
      Ohai::Log.level = :fatal unless output.log?(:debug)
      system = Ohai::System.new
      system.all_plugins(ATTRIBUTES)
      data = Attributes.plain(system.data.to_hash)
      data['ohai_time'] = Time.now.to_f
      data
    rescue LoadError => e
      raise Error, "ohai is not installed on this node (#{e.message}); the stand-in needs Debian's ohai package"
    end
  end
end
