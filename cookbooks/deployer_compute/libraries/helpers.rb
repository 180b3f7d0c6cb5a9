#
# Template variables of deployer_compute (pure, see tests/chef_render): a compute node writes the
# same nova.conf as a controller (multi-host settings included), so an all-in-one node that is both
# converges to one file.
module DeployerCompute
  module Helpers
    TEMPLATES = {
      'nova.conf' => { source: 'openstack-service.conf.erb', cookbook: 'deployer_common', variables: :nova_conf },
    }.freeze

    module_function

    def nova_conf(node, secret)
      DeployerOpenstack::Helpers.nova_conf(node, secret)
    end
  end
end
