name 'deployer_keepalived'
maintainer 'Under-cloud deployer team'
license 'Apache-2.0'
description 'keepalived VRRP instances holding the VIPs on the controllers, tracking the local HAProxy'
version '0.1.0'
chef_version '>= 16'

supports 'debian'
supports 'ubuntu'

depends 'deployer_common'
depends 'deployer_haproxy'
