# A compute node runs nova-compute and, as an OVN chassis, ovn-controller and the OVN metadata
# agent (the modern form of the origin's multi-host goal: no central network node, each compute
# routes its own instances' floating IPs).  Its nova.conf is deployer_openstack's, the same as on
# the controllers, so an all-in-one node converges to one file.
default['deployer']['compute']['packages'] = %w(nova-compute neutron-ovn-metadata-agent)
default['deployer']['compute']['units'] = %w(nova-compute neutron-ovn-metadata-agent)

# The virt driver: libvirt/KVM in production.  Tests set 'fake.FakeDriver' (nova's own fake
# hypervisor: instances reach ACTIVE with their ports bound, nothing boots).
default['deployer']['compute']['driver'] = 'libvirt.LibvirtDriver'
default['deployer']['compute']['libvirt']['virt_type'] = 'kvm'
# libvirt's daemon runs only where the libvirt driver does.
default['deployer']['compute']['libvirt']['units'] = %w(libvirtd)

# nova-compute reads nova.conf, then this file (Debian's nova-compute unit).
default['deployer']['compute']['config_file'] = '/etc/nova/nova-compute.conf'
default['deployer']['compute']['metadata_agent']['config_file'] = '/etc/neutron/neutron_ovn_metadata_agent.ini'
default['deployer']['compute']['metadata_agent']['ovsdb_connection'] = 'unix:/var/run/openvswitch/db.sock'
