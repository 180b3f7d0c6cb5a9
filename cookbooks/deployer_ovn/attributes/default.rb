# OVN central (NB/SB databases + ovn-northd) runs on every controller of
# node['deployer']['cluster']['controllers']; with more than one they form RAFT clusters that the
# first controller creates and the others join.  Every compute (and an all-in-one node) is a chassis.
default['deployer']['ovn']['nb_port'] = 6641
default['deployer']['ovn']['sb_port'] = 6642
default['deployer']['ovn']['nb_cluster_port'] = 6643
default['deployer']['ovn']['sb_cluster_port'] = 6644
default['deployer']['ovn']['central_defaults_file'] = '/etc/default/ovn-central'
default['deployer']['ovn']['central_units'] = %w(ovn-ovsdb-server-nb ovn-ovsdb-server-sb ovn-northd ovn-central)

# Chassis: Geneve tunnels from this node's management address.  datapath_type 'system' is the
# kernel datapath; 'netdev' is Open vSwitch's userspace datapath, for hosts without the
# openvswitch kernel module (test nodes).
default['deployer']['ovn']['encap_type'] = 'geneve'
default['deployer']['ovn']['datapath_type'] = 'system'
default['deployer']['ovn']['chassis_units'] = %w(openvswitch-switch ovn-host)
