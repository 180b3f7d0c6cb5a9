require 'json'

unified_mode true
provides :deployer_ovn_chassis

description 'Open vSwitch and ovn-controller on this node, registered as an OVN chassis with the Southbound database on the controllers'

property :instance_name, String, name_property: true
property :ovs_vsctl, String, default: '/usr/bin/ovs-vsctl'

action_class do
  # Says why it registers again when a value it set has changed (something else wrote there);
  # keys never set (a new chassis) are simply set.
  def external_ids_current?(wanted)
    result = shell_out(new_resource.ovs_vsctl, '--format=json', '--columns=external_ids', 'list', 'Open_vSwitch')
    unless result.exitstatus.zero?
      Chef::Log.warn("OVN chassis: ovs-vsctl list failed (#{result.exitstatus}): #{result.stderr.strip}")
      return false
    end
    drift = DeployerOvn::Helpers.external_ids_drift(wanted, JSON.parse(result.stdout))
    drift.each do |key, (current, value)|
      Chef::Log.warn("OVN chassis: external_ids:#{key} is #{current.inspect}, wants #{value.inspect}") unless current.nil?
    end
    drift.empty?
  rescue JSON::ParserError => e
    Chef::Log.warn("OVN chassis: unreadable ovs-vsctl output: #{e.message}")
    false
  end
end

action :create do
  ovn = node['deployer']['ovn']
  wanted = DeployerOvn::Helpers.chassis_external_ids(node.to_hash)
  package %w(openvswitch-switch ovn-host)

  # ovsdb-server's unit runs `ovs-ctl --system-id=random`, which on every start writes the id
  # from this file (a random UUID it made at first start) over external_ids:system-id: without
  # it, any restart of Open vSwitch (a reboot, a package upgrade) renames the chassis.
  file '/etc/openvswitch/system-id.conf' do
    content "#{wanted['system-id']}\n"
    owner 'root'
    group 'root'
    mode '0644'
  end

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
