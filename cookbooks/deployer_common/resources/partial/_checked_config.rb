# Shared by the resources that render one daemon's configuration file and let that daemon
# check the new file before it replaces the old one (haproxy -c, keepalived -t): a file the
# daemon would refuse never lands, and the old one keeps serving.  The using resource
# declares :binary (the checking executable) and :config (the template's variables).
#
# Used from another cookbook by its path from the using file, as Chef resolves `use`:
#   use '../../deployer_common/resources/partial/_checked_config'

property :config_file, String, name_property: true,
         description: 'Path of the rendered configuration'

action_class do
  # The template from `from_cookbook`, checked with `check` (a command line with %{path}).
  def checked_config(from_cookbook, template_source, check:, file_mode: '0644', secret: false)
    template new_resource.config_file do
      cookbook from_cookbook
      source template_source
      owner 'root'
      group 'root'
      mode file_mode
      sensitive secret
      variables new_resource.config
      verify check
    end
  end
end
