# DRBD resource holding /var/lib/mysql. Peers are the two controllers of
# node['deployer']['cluster']['controllers']; 'disk' is site-specific and set by the environment.
default['deployer']['drbd_mysql']['resource'] = 'mysql'
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
