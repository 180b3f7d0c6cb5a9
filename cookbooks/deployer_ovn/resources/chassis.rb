require 'json'

unified_mode true
provides :deployer_ovn_chassis

description 'Open vSwitch and ovn-controller on this node, registered as an OVN chassis with the Southbound database on the controllers'

property :instance_name, String, name_property: true
property :ovs_vsctl, String, default: '/usr/bin/ovs-vsctl'

action_class do
  def external_ids_current?(wanted)
    result = shell_out(new_resource.ovs_vsctl, '--format=json', '--columns=external_ids', 'list', 'Open_vSwitch')
    result.exitstatus.zero? && DeployerOvn::Helpers.external_ids_current?(wanted, JSON.parse(result.stdout))
  rescue JSON::ParserError
    false
  end
end

action :create do
  ovn = node['deployer']['ovn']
  wanted = DeployerOvn::Helpers.chassis_external_ids(node.to_hash)
  package %w(openvswitch-switch ovn-host)

  service 'openvswitch-switch' do
    action [:enable, :start]
  end

  # ovn-controller reads these at start and watches them afterwards, so no restart is needed.
  execute 'register the OVN chassis' do
    command [new_resource.ovs_vsctl, *DeployerOvn::Helpers.set_external_ids_args(wanted)]
    not_if { external_ids_current?(wanted) }
  end

  (ovn['chassis_units'] - ['openvswitch-switch']).each do |unit|
    service unit do
      action [:enable, :start]
    end
  end
end
