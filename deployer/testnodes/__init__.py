"""SSH-reachable test nodes ("bare servers") in network namespaces on this host.

``TestNodes(state_dir, prefix, subnet).up(3)`` gives three nodes, each with its
own sshd, root password, host key, hostname and copy-on-write /etc, /usr and
/var; ``down()`` removes every trace.  ``registry`` hands out unique prefixes
and subnets to parallel test sessions and reaps sets whose owner died.
"""
from deployer.testnodes.errors import TestNodesError
from deployer.testnodes.node import TestNode
from deployer.testnodes.nodeset import TestNodes

__all__ = ["TestNode", "TestNodes", "TestNodesError"]
