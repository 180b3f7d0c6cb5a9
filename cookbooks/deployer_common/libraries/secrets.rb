#
# The one way deployer cookbooks read a secret: a key of a data bag item,
# fetched at converge time.  Secrets never go into node attributes (those are
# saved to the Chef server); whatever renders one is marked `sensitive true`.
#
# Encrypted data bag items are read with Chef::EncryptedDataBagItem when
# node['deployer']['secrets']['secret_file'] names the shared secret file;
# otherwise the item is read as a plain data bag item.
#
# Helpers in the other cookbooks never call this directly: they take a
# `secret` callable (bag, item, key) -> String, so the template rendering
# harness can hand them test secrets instead.
module DeployerCommon
  class SecretMissing < StandardError; end

  module Secrets
    def deployer_secret(bag, item, key)
      value = deployer_data_bag_item(bag, item)[key]
      if value.nil? || value.to_s.empty?
        raise SecretMissing, "data bag item #{bag}/#{item} has no value for key '#{key}'"
      end
      value.to_s
    end

    # A callable for the pure helpers: ->(bag, item, key) { secret }.
    def deployer_secret_lookup
      ->(bag, item, key) { deployer_secret(bag, item, key) }
    end

    private

    def deployer_data_bag_item(bag, item)
      secret_file = node['deployer']['secrets']['secret_file']
      if secret_file
        secret = Chef::EncryptedDataBagItem.load_secret(secret_file)
        Chef::EncryptedDataBagItem.load(bag, item, secret).to_hash
      else
        data_bag_item(bag, item).to_hash
      end
    rescue Net::HTTPClientException => e
      raise SecretMissing, "cannot read data bag item #{bag}/#{item}: #{e.response.code}"
    end
  end
end

# Recipes, custom resource actions (providers) and resources get deployer_secret.
# Included into the classes, not into Chef::DSL::Recipe: on Ruby < 3.0 a module
# included into an already-included module is not seen by existing classes.
# The guard lets the rendering harness load this file without Chef.
if defined?(Chef::Recipe)
  [Chef::Recipe, Chef::Provider, Chef::Resource].each { |klass| klass.include(DeployerCommon::Secrets) }
end
