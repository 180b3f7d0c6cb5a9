#
# Cookbook:: deployer_common
# Recipe:: default
#
# Fails the run early, with the offending attribute named, when the cluster
# facts the deployer passed are unusable: a bad controllers list, or VIPs whose
# virtual_router_ids collide on one L2 segment.
attributes = node.to_hash
DeployerCommon::Cluster.controllers(attributes)
DeployerCommon::Vrrp.check_unique_vrids!(attributes['deployer']['vips'])
