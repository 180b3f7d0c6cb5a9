"""Bootstrapping bare servers into Chef over SSH (node runs)."""
