"""The HTTP API (Flask + flask-smorest): thin — parse, authorise, call one engine function,
serialise. No SQL and no SpiffWorkflow here."""

from api.app import create_app

__all__ = ["create_app"]
