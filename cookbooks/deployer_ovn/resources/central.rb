unified_mode true
provides :deployer_ovn_central

description "OVN's Northbound and Southbound databases and ovn-northd on this controller, listening on its own address"

property :instance_name, String, name_property: true

action :create do
  ovn = node['deployer']['ovn']
  package 'ovn-central'

  template ovn['central_defaults_file'] do
    cookbook 'deployer_ovn'
    source 'ovn-central.erb'
    owner 'root'
    group 'root'
    mode '0644'
    variables DeployerOvn::Helpers.central_defaults(node.to_hash)
  end

  ovn['central_units'].each do |unit|
    service unit do
      action [:enable, :start]
      subscribes :restart, "template[#{ovn['central_defaults_file']}]", :delayed
    end
  end
end
