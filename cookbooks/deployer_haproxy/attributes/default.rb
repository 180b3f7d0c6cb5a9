# HAProxy on every controller, bound to the VIPs (node['deployer']['vips']).

default['deployer']['haproxy']['config_file'] = '/etc/haproxy/haproxy.cfg'
default['deployer']['haproxy']['binary'] = '/usr/sbin/haproxy'

# global section; set chroot/stats_socket/user/group to false to leave them
# out (e.g. several instances on one test host).
default['deployer']['haproxy']['global']['maxconn'] = 4096
default['deployer']['haproxy']['global']['log'] = '/dev/log local0'
default['deployer']['haproxy']['global']['chroot'] = '/var/lib/haproxy'
default['deployer']['haproxy']['global']['stats_socket'] = '/run/haproxy/admin.sock'
default['deployer']['haproxy']['global']['user'] = 'haproxy'
default['deployer']['haproxy']['global']['group'] = 'haproxy'
default['deployer']['haproxy']['global']['pidfile'] = false

# defaults section: "for the other services, defaults available in the web worked well".
# 'check' 2s (the web's usual 10s): a hung (SIGSTOPped) server's kernel still accepts TCP, so
# each health check waited out the 10 s and a hung Galera writer was never marked down
# within a 20 s hang (certify); with 2 s it is down after fall x (inter + 2 s).
default['deployer']['haproxy']['defaults']['retries'] = 3
default['deployer']['haproxy']['defaults']['timeouts'] = {
  'connect' => '5s', 'client' => '1m', 'server' => '1m', 'check' => '2s', 'queue' => '1m',
}

# Health check timings on every server line.  Measured (bench/README.md, failover.py): with the
# origin's inter 2000 rise 2 fall 5 a surviving HAProxy kept sending requests to a dead
# controller for 14-17 s after the VIP moved; with inter 500 fall 3 it drops it within about
# 2.7 s.  The origin's values stay one environment attribute away (README, failover timings).
default['deployer']['haproxy']['check'] = { 'inter' => 500, 'rise' => 2, 'fall' => 3 }

# Stats page ("a great way to monitor and debug the environment").  bind_address
# false means this controller's own address.
default['deployer']['haproxy']['stats'] = {
  'enabled' => true, 'bind_address' => false, 'port' => 1936, 'uri' => '/haproxy?stats', 'refresh' => '10s',
}

# Local health endpoint that keepalived's vrrp_script polls over HTTP.
default['deployer']['haproxy']['monitor'] = { 'bind_address' => '127.0.0.1', 'port' => 8404, 'uri' => '/healthz' }

# OpenStack API listeners, bound to the node['deployer']['cluster']['api_vip'] VIP
# unless 'vip' names another cluster.  'backend_port' defaults to 'port': the services
# bind the same port on each controller's own address (deployer_openstack), HAProxy the VIP.
# 'check' is httpchk (origin; 'httpchk_request' replaces its OPTIONS /), ssl-hello-chk or tcp.  balance: roundrobin, or source for
# sticky UIs.  Only services the roles deploy have a listener (a listener whose backends never
# come up only hides real failures); nova-metadata serves the computes' OVN metadata agents.
default['deployer']['haproxy']['services'] = {
  'keystone' => { 'enabled' => true, 'port' => 5000, 'balance' => 'roundrobin', 'check' => 'httpchk' },
  'glance-api' => { 'enabled' => true, 'port' => 9292, 'balance' => 'roundrobin', 'check' => 'httpchk' },
  # httpchk's default request is OPTIONS /, which placement answers 405: every server DOWN.
  'placement-api' => { 'enabled' => true, 'port' => 8778, 'balance' => 'roundrobin', 'check' => 'httpchk', 'httpchk_request' => 'GET /' },
  'nova-api' => { 'enabled' => true, 'port' => 8774, 'balance' => 'roundrobin', 'check' => 'httpchk' },
  'nova-metadata' => { 'enabled' => true, 'port' => 8775, 'balance' => 'roundrobin', 'check' => 'httpchk' },
  'nova-novncproxy' => { 'enabled' => true, 'port' => 6080, 'balance' => 'source', 'check' => 'tcp' },
  'neutron-server' => { 'enabled' => true, 'port' => 9696, 'balance' => 'roundrobin', 'check' => 'httpchk' },
  'cinder-api' => { 'enabled' => true, 'port' => 8776, 'balance' => 'roundrobin', 'check' => 'httpchk' },
}

# Galera behind HAProxy, bound to the node['deployer']['cluster']['db_vip'] VIP:
# a 3306 listener whose writer is the first controller (active/passive), plus one
# listener per node['deployer']['databases'] port whose writer rotates over the
# controllers by port order (origin: 3307 nova -> mysql-1, 3308 keystone ->
# mysql-2, 3309 glance -> mysql-3).  Every other server is 'backup'.
# "In our data node, we found that much longer timeouts worked best."
default['deployer']['haproxy']['galera'] = {
  'enabled' => true,
  'port' => 3306,
  'backend_port' => 3306,
  'check_user' => 'haproxy_check',
  'timeouts' => { 'client' => '90m', 'server' => '90m', 'connect' => '5s' },
  # Kill sessions on a writer marked down, so clients never write through two nodes at once.
  'on_marked_down' => 'shutdown-sessions',
  # No failback: each listener's current writer is kept in a stick table that every
  # controller's HAProxy shares ('peers_port', on the controller's own address), so a
  # writer that comes back, or a DB VIP that moves, does not move the writes. Measured
  # (deployer certify, crash of the writer): failing back the moment the rebooted node
  # had synced cut every service's connections while that node was still starting its
  # 40 services, and writes stalled 10.7 s where the failover itself had taken under 3 s.
  # true is the origin's behaviour: the writes return to the rendered writer once it is
  # up, and 'on_marked_up' then shuts the backups' sessions.
  'failback' => false,
  'peers_port' => 1937,
  'on_marked_up' => 'shutdown-backup-sessions',
}

# HAProxy binds the VIP on controllers that do not hold it yet.
default['deployer']['haproxy']['nonlocal_bind'] = true
