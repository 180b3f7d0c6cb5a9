unified_mode true
provides :deployer_rabbitmq_config

description 'The shared Erlang cookie (from the data bag, mode 0400) and rabbitmq-env.conf, rabbitmq.conf and advanced.config of one broker'

property :config_dir, String, name_property: true,
         description: 'Directory of rabbitmq.conf, advanced.config and rabbitmq-env.conf'
property :cookie_file, String, default: '/var/lib/rabbitmq/.erlang.cookie',
         description: "The Erlang cookie every cluster member and rabbitmqctl must share"
property :owner, String, default: 'rabbitmq'
property :cookie, String, sensitive: true,
         default: lazy { deployer_secret(node['deployer']['secrets']['data_bag'], 'rabbitmq', 'erlang_cookie') },
         description: "The Erlang cookie's value; by default the rabbitmq item of the deployment's secrets bag"
property :files, Hash, sensitive: true,
         default: lazy {
           DeployerRabbitmq::Helpers::TEMPLATES.to_h { |file_name, entry|
             [file_name, DeployerRabbitmq::Helpers.public_send(entry[:variables], node.to_hash, deployer_secret_lookup)]
           }
         },
         description: "Template variables by file name (rabbitmq-env.conf, rabbitmq.conf, advanced.config); by default from node['deployer']"

action :create do
  file new_resource.cookie_file do
    content new_resource.cookie
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
      variables new_resource.files.fetch(file_name)
    end
  end
end
