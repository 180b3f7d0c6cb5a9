#
# The one way deployer cookbooks read a secret: a key of an item in the deployer's data bag,
# fetched at converge time.  Secrets never go into node attributes (those are saved to the
# Chef server); whatever renders one is marked `sensitive true`.
#
# The deployer stores every item encrypted.  Chef's data_bag_item decrypts an encrypted item
# with the secret file client.rb names (encrypted_data_bag_secret, written 0600 at bootstrap),
# and reads a plain item as it is, so one call serves both.  README.md lists every item and key.
#
# Helpers in the other cookbooks never call this directly: they take a `secret` callable
# (bag, item, key) -> String, so the template rendering harness can hand them test secrets.
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
      data_bag_item(bag, item)
    rescue Net::HTTPClientException => e
      raise SecretMissing, "cannot read data bag item #{bag}/#{item}: HTTP #{e.response.code}"
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
