"""Deployments: over-cloud templates, parameter sets and the Heat stacks made from them."""
