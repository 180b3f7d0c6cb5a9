"""Heat resource plugins of the deployer (loaded by heat-engine from plugin_dirs)."""
