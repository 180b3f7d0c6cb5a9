"""The one exception test-node code raises for errors the caller can act on."""


class TestNodesError(Exception):
    """A test node set could not be built, driven or torn down; the message says why."""
    __test__ = False   # not a pytest test class despite the name
