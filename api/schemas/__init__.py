"""Marshmallow schemas of every request and response body of the API."""
