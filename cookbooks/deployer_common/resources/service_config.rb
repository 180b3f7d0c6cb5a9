unified_mode true
provides :deployer_service_config

description 'An OpenStack-style INI file rendered from a section => option => value hash (may hold secrets, so never logged)'

property :path, String, name_property: true,
         description: 'Where the INI file goes, e.g. /etc/nova/nova.conf'
property :config, Hash, required: true, sensitive: true,
         callbacks: { 'maps each section to a Hash of options' => ->(c) { c.values.all? { |v| v.is_a?(Hash) } } },
         description: 'Sections => options => values; true/false become True/False, arrays are comma-joined'
property :owner, String, default: 'root'
property :group, String, default: 'root'
property :mode, String, default: '0640', regex: /\A0?[0-7]{3}\z/

action :create do
  template new_resource.path do
    cookbook 'deployer_common'
    source 'openstack-service.conf.erb'
    owner new_resource.owner
    group new_resource.group
    mode new_resource.mode
    variables DeployerCommon::Helpers.service_config(new_resource.config)
    sensitive true
  end
end
