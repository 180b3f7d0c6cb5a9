# frozen_string_literal: true

require 'base64'
require 'openssl'

module Standin
  # Chef::DSL::DataQuery#data_bag_item and Chef::EncryptedDataBagItem
  # (format versions 1 and 2: aes-256-cbc, 2 adds an HMAC; 3: aes-256-gcm).
  module DataBag
    class DecryptionFailure < StandardError; end

    def self.source=(source)
      @source = source
    end

    # Chef::DataBagItem.load: the item as stored.
    def self.raw(bag, item)
      raise Error, 'data_bag_item before the run has a Chef server or repository' unless @source

      data = @source.data_bag_item(bag.to_s, item.to_s)
      data = data['raw_data'] if data.is_a?(Hash) && data['raw_data'].is_a?(Hash) && data['json_class']
      data
    end

    # Chef::DSL::DataQuery#data_bag_item: an item that looks encrypted is decrypted with
    # the given secret or, when none is given, the file client.rb's
    # encrypted_data_bag_secret names; any other item is returned as stored.
    def self.item(bag, item, secret = nil)
      data = raw(bag, item)
      encrypted?(data) ? decrypt_item(data, secret || load_secret(nil)) : data
    end

    # Chef::EncryptedDataBagItem.load: always decrypted.
    def self.encrypted_item(bag, item, secret)
      decrypt_item(raw(bag, item), secret)
    end

    # Chef's DataQuery#encrypted?: every value but the id is a versioned encrypted value.
    def self.encrypted?(data)
      values = data.reject { |key, _| key == 'id' }
      !values.empty? && values.values.all? { |value| looks_encrypted?(value) }
    end

    def self.looks_encrypted?(value)
      return false unless value.is_a?(Hash) && value['encrypted_data'].is_a?(String) && value['iv'].is_a?(String)

      case value['version']
      when 1 then true
      when 2 then value['hmac'].is_a?(String)
      when 3 then value['auth_tag'].is_a?(String)
      else false
      end
    end

    def self.load_secret(path)
      path ||= ChefConfig::Config[:encrypted_data_bag_secret]
      raise ArgumentError, 'No secret specified and no secret found at encrypted_data_bag_secret' if path.nil?
      raise ArgumentError, "No secret specified and no secret found at #{path}" unless File.exist?(path)

      secret = File.read(path).strip
      raise ArgumentError, "Encrypted data bag secret in #{path} is empty" if secret.empty?

      secret
    end

    def self.decrypt_item(data, secret)
      data.to_h { |key, value| [key, key == 'id' ? value : decrypt_value(value, secret)] }
    end

    def self.decrypt_value(value, secret)
      version = value.is_a?(Hash) ? value['version'] : 0
      case version
      when 1, 2, 3 then nil
      else raise NotImplemented, "encrypted data bag item format version #{version.inspect}"
      end
      check_hmac(value, secret) if version == 2
      algorithm = version == 3 ? 'aes-256-gcm' : 'aes-256-cbc'
      if value['cipher'] != algorithm
        raise DecryptionFailure, "Expected cipher #{algorithm} for version #{version}, got #{value['cipher'].inspect}"
      end

      cipher = OpenSSL::Cipher.new(algorithm).decrypt
      cipher.key = OpenSSL::Digest.digest('SHA256', secret)
      cipher.iv = Base64.decode64(value['iv'])
      if version == 3
        raise DecryptionFailure, 'invalid authentication tag' unless value['auth_tag']

        cipher.auth_tag = Base64.decode64(value['auth_tag'])
        cipher.auth_data = ''
      end
      plain = cipher.update(Base64.decode64(value['encrypted_data'])) + cipher.final
      JSON.parse(plain)['json_wrapper']
    rescue OpenSSL::Cipher::CipherError, JSON::ParserError => e
      raise DecryptionFailure, "Error decrypting data bag value: '#{e.message}'. Most likely the provided key is incorrect"
    end

    def self.check_hmac(value, secret)
      expected = OpenSSL::HMAC.digest('sha256', secret, value['encrypted_data'])
      given = Base64.decode64(value['hmac'].to_s)
      return if value['hmac'] && OpenSSL.fixed_length_secure_compare(expected, given.ljust(expected.size)[0, expected.size]) && given.size == expected.size

      raise DecryptionFailure, 'Error decrypting data bag value: invalid hmac. Most likely the provided key is incorrect'
    end
  end
end
