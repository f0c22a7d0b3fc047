"""Deployment: check models, store versions, build and cache their parsed specs."""
