"""SSH-reachable test nodes: Debian 12 servers with systemd as PID 1, on this host.

``TestNodes(state_dir, prefix, subnet).up(3)`` boots three nodes (systemd-nspawn
containers over a copy-on-write image of the host's root, boot.py), each with
its own network namespace, sshd, root password, host key, hostname and
machine-id, and only the units a fresh server runs; ``down()`` removes every
trace.  ``registry`` hands out unique prefixes and subnets to parallel test
sessions and reaps sets whose owner died.
"""
from deployer.testnodes.errors import TestNodesError
from deployer.testnodes.node import TestNode
from deployer.testnodes.nodeset import TestNodes

__all__ = ["TestNode", "TestNodes", "TestNodesError"]
