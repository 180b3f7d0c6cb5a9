"""Deployer REST API (Flask)."""
