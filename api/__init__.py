"""The HTTP API (Flask): thin — parse, authorise, call one engine function, serialise."""
