unified_mode true
provides :deployer_rabbitmq_user

use 'partial/_rabbitmqctl'

description 'A RabbitMQ user with full permissions on one vhost; the password goes to rabbitmqctl on stdin, never argv'

property :username, String, name_property: true, regex: /\A[A-Za-z0-9_.-]+\z/
property :password, String, required: true, sensitive: true
property :vhost, String, default: '/'

action_class do
  def user_exists?
    (ctl_json('list_users') || []).any? { |u| u['user'] == new_resource.username }
  end

  def password_current?
    ctl('authenticate_user', new_resource.username, input: new_resource.password).exitstatus.zero?
  end

  def permissions_granted?
    (ctl_json('list_user_permissions', new_resource.username) || []).any? do |p|
      p['vhost'] == new_resource.vhost && p.values_at('configure', 'write', 'read') == %w(.* .* .*)
    end
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
