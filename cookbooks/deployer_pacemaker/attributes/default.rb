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
# nil: the origin's 'ignore' on a pair (votequorum two_node keeps its quorum anyway), 'stop' on
# three or more.  With 'ignore' a controller cut off from the other two kept running its copy of
# each singleton while they started theirs; once it was back, multiple-active kept its copy and
# moved nova-conductor and the schedulers back to it (certify's link-down: RPC never came back
# within two minutes).  With 'stop' the cut-off node stops its copies and nothing moves back.
default['deployer']['pacemaker']['no_quorum_policy'] = nil
default['deployer']['pacemaker']['resource_stickiness'] = 100

# Singletons run active/passive: exactly one instance in the cluster (systemd units).
default['deployer']['pacemaker']['ap_services'] = %w(nova-scheduler cinder-scheduler nova-conductor)
default['deployer']['pacemaker']['monitor_interval'] = '30s'
# Start/stop timeouts of those services.  Pacemaker's default, 20 s, is shorter than an OpenStack
# service takes to report ready while a peer hangs (certify measured nova-conductor past 20 s: its
# broker connection to the hung controller stalled), and a timed-out start bans the service from
# that node (fail-count INFINITY).
default['deployer']['pacemaker']['service_timeouts'] = { 'start' => '120s', 'stop' => '120s' }
# The MySQL group's file system: the Filesystem agent's advised minimum (a journal replay after a
# crash, a stop that waits for the last writer); its mysqld takes service_timeouts.
default['deployer']['pacemaker']['filesystem_timeouts'] = { 'start' => '60s', 'stop' => '60s' }
# A node where a service failed may run it again after this (the origin never cleared failures).
default['deployer']['pacemaker']['failure_timeout'] = '120s'
# A service found running on two nodes: a hung controller thawed after its services were started
# elsewhere (no STONITH).  stop_unexpected stops the thawed copy and keeps the one Pacemaker
# started; Pacemaker's default, stop_start, stops both and starts one again: a second outage.
default['deployer']['pacemaker']['multiple_active'] = 'stop_unexpected'

# VIP clusters (keys of node['deployer']['vips']) Pacemaker moves as IPaddr2 resources, where
# keepalived is not used (the 2-node active/passive topology).
default['deployer']['pacemaker']['vips'] = []

# The DRBD-backed MySQL group joins the CIB only where a role turns it on (deployer_roles::database_ap).
default['deployer']['pacemaker']['drbd_mysql'] = false

default['deployer']['pacemaker']['cib_path'] = '/etc/deployer/pacemaker/cib.xml'
