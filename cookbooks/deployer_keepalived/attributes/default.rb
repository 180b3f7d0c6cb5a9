# keepalived on every controller: one vrrp_instance per VIP cluster in
# node['deployer']['vips'] (virtual_router_id and auth_pass item come from there).

default['deployer']['keepalived']['config_file'] = '/etc/keepalived/keepalived.conf'
default['deployer']['keepalived']['binary'] = '/usr/sbin/keepalived'
# curl runs the track script below; keepalived -t refuses a script that is not installed.
default['deployer']['keepalived']['packages'] = %w(keepalived curl)

# VIP clusters this node carries; empty means every cluster in node['deployer']['vips'].
default['deployer']['keepalived']['vips'] = []

# VRRP version 3 (RFC 5798): advert_int may be fractional (centiseconds) and there is no
# authentication (v2's PASS is clear text on the wire, so it protected nothing).  2 is the
# origin's: whole seconds, auth_pass from the cluster's data bag item.
default['deployer']['keepalived']['vrrp_version'] = 3

# VRRP advertisement interval in seconds: a backup takes over after 3 x advert_int + skew.
# Measured on a crashed VIP holder (certify): token outage 2.6-3.1 s with v2's 1 s.
default['deployer']['keepalived']['advert_int'] = 0.5

# The first controller gets base_priority + (controllers - 1), the last base_priority.  A
# backup takes over after 3 x advert_int + (256 - priority) / 256 s: 250 cuts the origin's
# 100 (0.6 s of skew) to 0.02 s.
default['deployer']['keepalived']['base_priority'] = 250

# nopreempt (default): every node starts BACKUP and a recovered node does not take the VIPs
# back.  With preempt (false, the origin's MASTER on the first controller) a crashed controller
# took both VIPs back 27 s after the crash, while its own backends were still down: every
# connection through the VIPs was reset again, Keystone's to the DB VIP included (certify: its
# token outage was 6.1 s, against a 3 s target, and Keystone's errors fell at that moment).
default['deployer']['keepalived']['nopreempt'] = true

# Unicast VRRP to the other controllers instead of multicast 224.0.0.18.
default['deployer']['keepalived']['unicast'] = false

# Gratuitous ARP after becoming MASTER.
default['deployer']['keepalived']['garp'] = { 'master_delay' => 1, 'master_repeat' => 3 }

# The track script asks the LOCAL haproxy over HTTP (its monitor-uri), never
# pidof/killall, which would see haproxy processes that serve nothing here.
default['deployer']['keepalived']['check'] = {
  'curl' => '/usr/bin/curl', 'timeout' => 1, 'interval' => 1, 'fall' => 2, 'rise' => 2,
}
