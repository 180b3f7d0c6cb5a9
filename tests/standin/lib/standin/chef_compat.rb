# frozen_string_literal: true

# The Chef constants cookbook code refers to (libraries reopen Chef::Recipe,
# Chef::Provider and Chef::Resource; secrets use Chef::EncryptedDataBagItem).
module Chef
  VERSION = Standin::VERSION
  Recipe = Standin::Recipe
  Resource = Standin::Resource
  Provider = Standin::ActionClass
  Node = Standin::Node
  DelayedEvaluator = Standin::DelayedEvaluator
  Config = ChefConfig::Config

  module Mixin
    ShellOut = Standin::Shell
  end

  # Chef::Log.info(...) and friends, into the run's log.
  module Log
    class << self
      attr_accessor :output

      %i(trace debug info warn error fatal).each do |level|
        define_method(level) { |message = nil, &block| output&.log(level, message || block&.call) }
      end

      def level
        output&.level
      end
    end
  end

  module DataBagItem
    def self.load(bag, item)
      Standin::DataBag.raw(bag, item)
    end
  end

  module EncryptedDataBagItem
    DecryptionFailure = Standin::DataBag::DecryptionFailure

    def self.load_secret(path = nil)
      Standin::DataBag.load_secret(path)
    end

    def self.load(bag, item, secret = nil)
      Standin::DataBag.encrypted_item(bag, item, secret || load_secret)
    end
  end
end
