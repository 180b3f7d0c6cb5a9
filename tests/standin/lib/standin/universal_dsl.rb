# frozen_string_literal: true

module Standin
  # Chef::DSL::Universal: what recipes and resource blocks alike can call
  # (shell_out, data bag items, platform checks).  The includer provides `node`.
  module UniversalDSL
    include Shell

    def data_bag_item(bag, item, secret = nil)
      DataBag.item(bag, item, secret)
    end

    def platform?(*names)
      node.platform?(*names)
    end

    def platform_family?(*names)
      node.platform_family?(*names)
    end
  end
end
