"""The ``deployer`` command line."""
