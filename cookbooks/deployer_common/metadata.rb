name 'deployer_common'
maintainer 'Under-cloud deployer team'
license 'Apache-2.0'
description 'Shared helpers for the HA over-cloud cookbooks: cluster membership, secrets, VRRP checks, INI configs'
version '0.1.0'
chef_version '>= 16'

supports 'debian'
supports 'ubuntu'
