"""The Flask application factory."""

from __future__ import annotations

import os
from typing import Any

from flask import Flask, Response, current_app, request
from flask_smorest import Api

from api import errors
from api.auth import (
    FAILURES_PER_MINUTE,
    STORAGE_URL,
    Authenticator,
    TokenAuthenticator,
    authenticate_request,
    limit_failures,
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

#: settings an operator gives as environment variables (app config of the same name wins)
CORS_ORIGINS = "BIFLOW_CORS_ORIGINS"  # comma-separated; unset: no CORS headers at all
HSTS_MAX_AGE = "BIFLOW_HSTS_MAX_AGE"  # seconds; set only when served behind TLS
ENVIRONMENT_DEFAULTS = {FAILURES_PER_MINUTE: "10", STORAGE_URL: "memory://",
                        CORS_ORIGINS: "", HSTS_MAX_AGE: ""}

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
}
CORS_HEADERS = {
    "Access-Control-Allow-Methods": "GET, POST",
    "Access-Control-Allow-Headers": "Authorization, Content-Type",
    "Access-Control-Expose-Headers": "Retry-After, WWW-Authenticate",
    "Access-Control-Max-Age": "600",
}


class BiflowApi(Api):
    """flask-smorest documenting our error body for its automatic error responses."""

    ERROR_SCHEMA = ErrorSchema


def create_app(engine: Engine, *, authenticator: Authenticator | None = None,
               config: dict[str, Any] | None = None, dev_clock: bool = False) -> Flask:
    """``dev_clock``: add ``/api/dev/clock`` (the engine's clock must be movable)."""
    app = Flask("biflow")
    app.config.update(DEFAULTS)
    app.config.update({key: os.environ.get(key, default)
                       for key, default in ENVIRONMENT_DEFAULTS.items()})
    app.config.update(config or {})
    int(app.config[HSTS_MAX_AGE] or 0)  # a malformed value fails here, not in every answer
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
    app.before_request(_cors_preflight)
    limit_failures(app)  # its check runs before authentication
    app.before_request(authenticate_request)
    app.after_request(_security_headers)
    app.after_request(_cors_headers)
    return app


def _security_headers(response: Response) -> Response:
    max_age = str(current_app.config[HSTS_MAX_AGE] or "")
    if max_age:
        response.headers.setdefault("Strict-Transport-Security", f"max-age={int(max_age)}")
    if request.path.startswith("/api/docs"):
        return response  # the documentation page loads its scripts from a CDN
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


def _cors_origins() -> set[str]:
    return {o.strip() for o in str(current_app.config[CORS_ORIGINS]).split(",") if o.strip()}


def _allowed_origin() -> str | None:
    """The request's ``Origin`` when it is exactly one of ``BIFLOW_CORS_ORIGINS``."""
    origin = request.headers.get("Origin")
    return origin if origin in _cors_origins() else None


def _cors_preflight() -> Response | None:
    """``before_request``: a browser's preflight from an allowed origin carries no token."""
    if (request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers
            and _allowed_origin()):
        return Response(status=204, headers=CORS_HEADERS)
    return None


def _cors_headers(response: Response) -> Response:
    """Off unless configured; then the answer depends on ``Origin`` (caches must know)."""
    if _cors_origins():
        response.vary.add("Origin")
        if origin := _allowed_origin():
            response.headers["Access-Control-Allow-Origin"] = origin
    return response
