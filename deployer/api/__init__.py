"""Deployer REST API (Flask + flask-smorest); the factory is deployer.api.app.create_app."""
