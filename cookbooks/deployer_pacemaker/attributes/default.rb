# Corosync/Pacemaker settings. Members come from node['deployer']['cluster']['controllers']
# (explicit list, never search); values here are plain defaults, nothing is derived.
default['deployer']['pacemaker']['cluster_name'] = 'openstack'
default['deployer']['pacemaker']['transport'] = 'knet'
default['deployer']['pacemaker']['crypto_cipher'] = 'aes256'
default['deployer']['pacemaker']['crypto_hash'] = 'sha256'
# totem token timeout in ms: how long a silent member takes to be declared lost (a crashed
# node's resources move after it, plus consensus = 1.2 x token).  nil: corosync's own default
# (3000 ms in corosync 3).  bench/active_passive.py measures 3000 against 1000.
default['deployer']['pacemaker']['token'] = nil
# Shared knet key (from the data bag item 'corosync', key 'authkey', base64).
default['deployer']['pacemaker']['authkey_path'] = '/etc/corosync/authkey'

# The origin's three cluster rules: no STONITH, ignore lost quorum, sticky resources (no fallback).
default['deployer']['pacemaker']['stonith_enabled'] = false
default['deployer']['pacemaker']['no_quorum_policy'] = 'ignore'
default['deployer']['pacemaker']['resource_stickiness'] = 100

# Singletons run active/passive: exactly one instance in the cluster (systemd units).
default['deployer']['pacemaker']['ap_services'] = %w(nova-scheduler cinder-scheduler nova-conductor)
default['deployer']['pacemaker']['monitor_interval'] = '30s'

# VIP clusters (keys of node['deployer']['vips']) Pacemaker moves as IPaddr2 resources, where
# keepalived is not used (the 2-node active/passive topology).
default['deployer']['pacemaker']['vips'] = []

# The DRBD-backed MySQL group joins the CIB only where a role turns it on (deployer_roles::database_ap).
default['deployer']['pacemaker']['drbd_mysql'] = false

default['deployer']['pacemaker']['cib_path'] = '/etc/deployer/pacemaker/cib.xml'
