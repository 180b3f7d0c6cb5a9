name 'deployer_galera'
maintainer 'Under-cloud deployer team'
license 'Apache-2.0'
description 'MariaDB Galera cluster on the controllers: config, explicit bootstrap/join, OpenStack databases and the haproxy_check user'
version '0.1.0'
chef_version '>= 16'

supports 'debian'
supports 'ubuntu'

depends 'deployer_common'
