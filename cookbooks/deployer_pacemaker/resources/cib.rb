# The cluster configuration (CIB) rendered from attributes, verified, and loaded by one node.
provides :deployer_pacemaker_cib
unified_mode true

description 'Renders the CIB, checks it with crm_verify, and loads it with cibadmin on the CIB writer'

property :path, String, default: lazy { node['deployer']['pacemaker']['cib_path'] },
         description: 'Where the rendered CIB is kept on the node'
property :writer, [true, false], default: lazy { DeployerPacemaker::Helpers.cib_writer?(node.to_hash) },
         description: 'Whether this node loads the CIB into the cluster (the first controller, chosen explicitly)'

action :apply do
  directory ::File.dirname(new_resource.path) do
    recursive true
    mode '0750'
  end

  template new_resource.path do
    cookbook 'deployer_pacemaker'
    source 'cib.xml.erb'
    variables DeployerPacemaker::Helpers.cib_config(node.to_hash)
    mode '0640'
    verify 'crm_verify --xml-file %{path}'
    notifies :run, 'execute[load CIB configuration]', :immediately if new_resource.writer
  end

  # cibadmin takes the <configuration> section out of the full CIB file and replaces the live one.
  execute 'load CIB configuration' do
    command ['cibadmin', '--replace', '--scope', 'configuration', '--xml-file', new_resource.path]
    # Pacemaker needs a few seconds after its first start before the CIB accepts updates.
    retries 6
    retry_delay 10
    action :nothing
  end
end
