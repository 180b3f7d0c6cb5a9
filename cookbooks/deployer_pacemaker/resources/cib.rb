# The cluster configuration (CIB) rendered from attributes, verified, and loaded by one node.
provides :deployer_pacemaker_cib
unified_mode true

description 'Renders the CIB, checks it with crm_verify, and loads it with cibadmin on the CIB writer'

property :path, String, default: lazy { node['deployer']['pacemaker']['cib_path'] },
         description: 'The CIB last loaded into the cluster (kept on the node)'
property :writer, [true, false], default: lazy { DeployerPacemaker::Helpers.cib_writer?(node.to_hash) },
         description: 'Whether this node loads the CIB into the cluster (the first controller, chosen explicitly)'

action :apply do
  candidate = "#{new_resource.path}.candidate"

  directory ::File.dirname(new_resource.path) do
    recursive true
    mode '0750'
  end

  template candidate do
    cookbook 'deployer_pacemaker'
    source 'cib.xml.erb'
    variables DeployerPacemaker::Helpers.cib_config(node.to_hash)
    mode '0640'
    verify 'crm_verify --xml-file %{path}'
  end

  # Loaded until a load succeeds: the candidate becomes `path` only afterwards, so a failed load
  # (cluster not up yet) is retried on the next converge instead of being forgotten.
  execute 'load CIB configuration' do
    # cibadmin takes the <configuration> section out of the full CIB file and replaces the live one.
    command ['cibadmin', '--replace', '--scope', 'configuration', '--xml-file', candidate]
    # Pacemaker needs a few seconds after its first start before the CIB accepts updates.
    retries 6
    retry_delay 10
    only_if { new_resource.writer }
    not_if { ::File.exist?(new_resource.path) && ::FileUtils.compare_file(candidate, new_resource.path) }
  end

  file new_resource.path do
    content(lazy { ::File.read(candidate) })
    mode '0640'
  end
end
