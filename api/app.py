"""The Flask application factory."""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, request
from flask_smorest import Api

from api import errors
from api.auth import (
    Authenticator,
    TokenAuthenticator,
    authenticate_request,
    refuse_bad_input,
)
from api.schemas.common import ErrorSchema
from api.views import definitions, dev, health, incidents, instances, messages, notifications, tasks
from engine import Engine

MAX_BODY_BYTES = 6 * 1024 * 1024  # a model file may be 5 MiB

DEFAULTS: dict[str, Any] = {
    "API_TITLE": "biflow",
    "API_VERSION": "1",
    "OPENAPI_VERSION": "3.0.3",
    "OPENAPI_URL_PREFIX": "/api",
    "OPENAPI_JSON_PATH": "openapi.json",
    "OPENAPI_SWAGGER_UI_PATH": "docs",
    "OPENAPI_SWAGGER_UI_URL": "https://cdn.jsdelivr.net/npm/swagger-ui-dist@5/",
    "MAX_CONTENT_LENGTH": MAX_BODY_BYTES,
    "JSON_SORT_KEYS": False,
}

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


class BiflowApi(Api):
    """flask-smorest documenting our error body for its automatic error responses."""

    ERROR_SCHEMA = ErrorSchema


def create_app(engine: Engine, *, authenticator: Authenticator | None = None,
               config: dict[str, Any] | None = None, dev_clock: bool = False) -> Flask:
    """``dev_clock``: add ``/api/dev/clock`` (the engine's clock must be movable)."""
    app = Flask("biflow")
    app.config.update(DEFAULTS)
    app.config.update(config or {})
    app.json.sort_keys = False  # keep the order the schemas declare
    app.extensions["biflow.engine"] = engine
    app.extensions["biflow.authenticator"] = authenticator or TokenAuthenticator(engine)

    api = BiflowApi(app, spec_kwargs={
        "info": {"description": "The BPMN engine of Brussels International"}})
    api.spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    api.spec.options["security"] = [{"bearer": []}]
    for blueprint in (health.blp, definitions.blp, instances.blp, tasks.blp, messages.blp,
                      incidents.blp, notifications.blp):
        api.register_blueprint(blueprint)
    if dev_clock:
        api.register_blueprint(dev.blp)

    errors.register(app)
    app.before_request(refuse_bad_input)
    app.before_request(authenticate_request)
    app.after_request(_security_headers)
    return app


def _security_headers(response: Response) -> Response:
    if request.path.startswith("/api/docs"):
        return response  # the documentation page loads its scripts from a CDN
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response
