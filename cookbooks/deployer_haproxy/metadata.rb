name 'deployer_haproxy'
maintainer 'Under-cloud deployer team'
license 'Apache-2.0'
description 'HAProxy on the controllers: OpenStack API listeners and single-writer Galera listeners on the VIPs'
version '0.1.0'
chef_version '>= 16'

supports 'debian'
supports 'ubuntu'

depends 'deployer_common'
