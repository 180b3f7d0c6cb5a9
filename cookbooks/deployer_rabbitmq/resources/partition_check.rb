unified_mode true
provides :deployer_rabbitmq_partition_check

use 'partial/_rabbitmqctl'

description 'rabbitmq-partition-check.timer: every `interval` seconds, a broker that finds itself on the smaller side of a cluster split its partition handling left (the others running without it) restarts its rabbit app and rejoins (templates/default/rabbitmq-partition-check.erb says when exactly)'

property :local_node, String, name_property: true, regex: /\A[^@\s]+@[^@\s]+\z/,
         description: "This broker's Erlang node name (rabbit@ctl1)"
property :cluster_nodes, Array, default: [],
         callbacks: { 'must be Erlang node names' => ->(names) { names.all? { |n| n.to_s.match?(/\A[^@\s,]+@[^@\s,]+\z/) } } },
         description: "Every member's Erlang node name, this broker's included"
property :interval, Integer, default: 30, callbacks: { 'must be positive' => ->(s) { s.positive? } }
property :confirmations, Integer, default: 2, callbacks: { 'must be positive' => ->(n) { n.positive? } },
         description: 'Checks in a row that must see the split before the broker restarts'
property :script, String, default: '/usr/local/sbin/rabbitmq-partition-check'

action :create do
  unit_dir = '/etc/systemd/system'
  template new_resource.script do
    cookbook 'deployer_rabbitmq'
    source 'rabbitmq-partition-check.erb'
    owner 'root'
    group 'root'
    mode '0755'
  end

  %w(service timer).each do |kind|
    template "#{unit_dir}/rabbitmq-partition-check.#{kind}" do
      cookbook 'deployer_rabbitmq'
      source "rabbitmq-partition-check.#{kind}.erb"
      owner 'root'
      group 'root'
      mode '0644'
      variables(script: new_resource.script, local_node: new_resource.local_node,
                cluster_nodes: new_resource.cluster_nodes, confirmations: new_resource.confirmations,
                rabbitmqctl: new_resource.rabbitmqctl, interval: new_resource.interval)
      notifies :run, 'execute[systemctl daemon-reload (rabbitmq-partition-check)]', :immediately
    end
  end

  execute 'systemctl daemon-reload (rabbitmq-partition-check)' do
    command %w(systemctl daemon-reload)
    action :nothing
  end

  service 'rabbitmq-partition-check.timer' do
    action [:enable, :start]
    subscribes :restart, "template[#{unit_dir}/rabbitmq-partition-check.timer]", :delayed
  end
end

action :delete do
  unit_dir = '/etc/systemd/system'
  service 'rabbitmq-partition-check.timer' do
    action [:stop, :disable]
    only_if { ::File.exist?("#{unit_dir}/rabbitmq-partition-check.timer") }
  end

  [new_resource.script, "#{unit_dir}/rabbitmq-partition-check.service",
   "#{unit_dir}/rabbitmq-partition-check.timer"].each do |path|
    file path do
      action :delete
    end
  end
end
