unified_mode true
provides :deployer_rabbitmq_config

description 'The shared Erlang cookie (from the data bag, mode 0400) and rabbitmq-env.conf, rabbitmq.conf and advanced.config of one broker'

property :config_dir, String, name_property: true,
         description: 'Directory of rabbitmq.conf, advanced.config and rabbitmq-env.conf'
property :cookie_file, String, default: '/var/lib/rabbitmq/.erlang.cookie',
         description: "The Erlang cookie every cluster member and rabbitmqctl must share"
property :owner, String, default: 'rabbitmq'

action :create do
  attributes = node.to_hash
  bag = node['deployer']['secrets']['data_bag']

  file new_resource.cookie_file do
    content lazy { deployer_secret(bag, 'rabbitmq', 'erlang_cookie') }
    owner new_resource.owner
    group new_resource.owner
    mode '0400'
    sensitive true
  end

  DeployerRabbitmq::Helpers::TEMPLATES.each do |file_name, entry|
    template ::File.join(new_resource.config_dir, file_name) do
      cookbook 'deployer_rabbitmq'
      source entry[:source]
      owner 'root'
      group new_resource.owner
      mode '0640'
      variables DeployerRabbitmq::Helpers.public_send(entry[:variables], attributes, deployer_secret_lookup)
    end
  end
end
