"""Preflight: the site checked before anything of a deployment is created.

``deployer plan`` and ``deployer create`` (POST /v1/deployments/plan and
/v1/deployments) run it after Heat's preview and before any stack, row or Chef
object exists; ``skip_preflight`` (``--skip-preflight``) skips the checks on the
nodes, and the deployment records that it was skipped.  One file per concern:

- report.py    the structured result (per node, per VIP, site-wide), its problem+json fields
- settings.py  what the preflight needs of the deployer's configuration
- targets.py   the planned nodes and how to reach them, from Heat's preview
- run_list.py  a node's expanded run-list (roles from the deployer's content)
- packages.py  the packages an expanded run-list installs, read from the cookbooks'
               own ``package`` resources and the attributes they name
- apt.py       ``apt-cache policy`` output: which of them a node can install
- vips.py      the VIPs of the rendered Chef environment (segment, VRID, floating or not)
- config.py    the config lint of the files each node would write (deployer.lint)
- registry.py  the VIP/VRID registry in the deployer's database (409 on a collision)
- chef_url.py  the Chef server URL a node will be given, and why a node cannot reach it
- probes.py    the checks run on one node over SSH
- site.py      the checks across nodes (unique addresses and host names)
- runner.py    all nodes in parallel, then the VIPs, into one report
- gate.py      what plan, create and update call
"""
