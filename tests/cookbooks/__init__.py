"""Cookbook tests: Ruby syntax, and every template rendered and checked by the real daemon."""
