# DRBD resource holding /var/lib/mysql. Peers are the two controllers of
# node['deployer']['cluster']['controllers']; 'disk' is site-specific and set by the environment.
# 'backing': 'drbd' (the origin): each node's own 'disk', replicated by DRBD, Pacemaker promotes
# one copy and mounts /dev/drbdN there.  'shared-disk': 'disk' is one block device both nodes
# see (a SAN LUN), no DRBD; Pacemaker mounts it where MySQL runs (the test topology: test nodes
# have no DRBD kernel module).
default['deployer']['drbd_mysql']['backing'] = 'drbd'
default['deployer']['drbd_mysql']['resource'] = 'mysql'
# The drbdadm of Debian 12's kernel module (DRBD 8.4), named explicitly: drbd-utils' drbdadm picks
# its parser from the loaded module and reads a DRBD 9 syntax while none is loaded.
default['deployer']['drbd_mysql']['drbdadm'] = '/usr/lib/drbd/drbdadm-84'
default['deployer']['drbd_mysql']['device'] = '/dev/drbd0'
default['deployer']['drbd_mysql']['disk'] = nil
default['deployer']['drbd_mysql']['meta_disk'] = 'internal'
default['deployer']['drbd_mysql']['port'] = 7788
# Protocol C: a write completes only when both peers have it on disk (no lost commits on failover).
default['deployer']['drbd_mysql']['protocol'] = 'C'
default['deployer']['drbd_mysql']['mount_point'] = '/var/lib/mysql'
default['deployer']['drbd_mysql']['fstype'] = 'ext4'
# systemd unit Pacemaker starts after the file system and the VIP.
default['deployer']['drbd_mysql']['service'] = 'mariadb'
# The address that moves with the MySQL group is node['deployer']['vips'][node['deployer']['cluster']['db_vip']].
# Resource-level fencing through Pacemaker (S9: STONITH is off, as in the origin): the DRBD 8.4
# handlers drbd-utils ships for it.
default['deployer']['drbd_mysql']['fencing'] = 'resource-only'
default['deployer']['drbd_mysql']['fence_peer_handler'] = '/usr/lib/drbd/crm-fence-peer.sh'
default['deployer']['drbd_mysql']['unfence_peer_handler'] = '/usr/lib/drbd/crm-unfence-peer.sh'
# The active/passive server's own [mysqld] fragment (after Debian's 50-server.cnf).
default['deployer']['drbd_mysql']['mysqld_config'] = '/etc/mysql/mariadb.conf.d/60-deployer.cnf'
