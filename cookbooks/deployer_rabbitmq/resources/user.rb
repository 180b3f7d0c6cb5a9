unified_mode true
provides :deployer_rabbitmq_user

description 'A RabbitMQ user with full permissions on one vhost; the password goes to rabbitmqctl on stdin, never argv'

property :username, String, name_property: true, regex: /\A[A-Za-z0-9_.-]+\z/
property :password, String, required: true, sensitive: true
property :vhost, String, default: '/'
property :rabbitmqctl, String, default: '/usr/sbin/rabbitmqctl'

action_class do
  def ctl(*args, **options)
    shell_out(new_resource.rabbitmqctl, *args, **options)
  end

  def user_exists?
    ctl('list_users', '--formatter', 'json').stdout.then { |out| JSON.parse(out).any? { |u| u['user'] == new_resource.username } }
  rescue JSON::ParserError
    false
  end

  def password_current?
    ctl('authenticate_user', new_resource.username, input: new_resource.password).exitstatus.zero?
  end

  def permissions_granted?
    ctl('list_user_permissions', new_resource.username, '--formatter', 'json').stdout.then do |out|
      JSON.parse(out).any? { |p| p['vhost'] == new_resource.vhost && p.values_at('configure', 'write', 'read') == %w(.* .* .*) }
    end
  rescue JSON::ParserError
    false
  end
end

action :create do
  execute "rabbitmqctl add_user #{new_resource.username}" do
    command [new_resource.rabbitmqctl, 'add_user', new_resource.username]
    input new_resource.password
    sensitive true
    not_if { user_exists? }
  end

  execute "rabbitmqctl change_password #{new_resource.username}" do
    command [new_resource.rabbitmqctl, 'change_password', new_resource.username]
    input new_resource.password
    sensitive true
    not_if { password_current? }
  end

  execute "rabbitmqctl set_permissions #{new_resource.username}" do
    command [new_resource.rabbitmqctl, 'set_permissions', '-p', new_resource.vhost, new_resource.username, '.*', '.*', '.*']
    not_if { permissions_granted? }
  end
end
