name 'deployer_rabbitmq'
maintainer 'Under-cloud deployer team'
license 'Apache-2.0'
description 'Clustered RabbitMQ on the controllers: shared cookie, explicit join to the deployer-chosen seed, HA policy or quorum queues, service users'
version '0.1.0'
chef_version '>= 16'

supports 'debian'
supports 'ubuntu'

depends 'deployer_common'
