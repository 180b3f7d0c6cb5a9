"""The embedded under-cloud: Heat, the Chef server and the deployer's own servers."""
