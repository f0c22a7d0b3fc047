"""Who is calling. Identity is a user id plus groups (``engine.identity.Actor``).

Today a bearer token from ``biflow user add``; an OIDC provider can replace it by
supplying another :class:`Authenticator` to ``create_app`` — nothing else changes.

Failed authentications are rate-limited per client address (:func:`limit_failures`).
"""

from __future__ import annotations

import math
import time
from typing import Protocol

from flask import Flask, Response, abort, current_app, g, request
from flask_limiter import Limiter, RateLimitExceeded
from flask_limiter.util import get_remote_address

from api.errors import error_response
from engine.data import check_user_data
from engine.identity import Actor

PUBLIC_PATHS = frozenset({"/api/health", "/api/openapi.json", "/api/docs"})
PROCESS_OWNERS = "process-owners"
#: app config keys (defaults from the environment variables of the same name)
FAILURES_PER_MINUTE = "BIFLOW_AUTH_FAILURES_PER_MINUTE"
STORAGE_URL = "BIFLOW_RATELIMIT_STORAGE_URL"


class Authenticator(Protocol):
    def __call__(self, authorization: str | None) -> Actor | None: ...


class TokenAuthenticator:
    """``Authorization: Bearer bif_...`` checked against the engine's token store."""

    def __init__(self, engine) -> None:
        self.engine = engine

    def __call__(self, authorization: str | None) -> Actor | None:
        if not authorization:
            return None
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        return self.engine.authenticate(token.strip())


def refuse_bad_input() -> None:
    """``before_request``: input no command may take, refused before anything reads it.

    NUL characters in the URL (PostgreSQL cannot store them); JSON bodies that nest too
    deeply or hold NUL characters (the engine's own check of user data).
    """
    if "\x00" in request.path or any("\x00" in key or "\x00" in value
                                      for key, value in request.args.items(multi=True)):
        abort(400, "NUL characters are not allowed in the URL")
    if request.is_json:
        try:
            body = request.get_json(silent=True)
        except RecursionError:
            abort(400, "the body nests too deeply")
        check_user_data(body, "body", reserved_keys=False)


def needs_token(path: str) -> bool:
    """Every ``/api`` path but the public ones (unknown paths included: no probing)."""
    path = path.rstrip("/") or "/"
    return path.startswith("/api") and path not in PUBLIC_PATHS \
        and not path.startswith("/api/docs")


def authenticate_request() -> None:
    """``before_request``: every path that :func:`needs_token` needs a valid token."""
    if not needs_token(request.path):
        return
    actor = current_app.extensions["biflow.authenticator"](request.headers.get("Authorization"))
    if actor is None:
        abort(401, "a valid bearer token is required")
    g.actor = actor


def current_actor() -> Actor:
    return g.actor


def require_admin() -> Actor:
    actor = current_actor()
    if not actor.is_admin:
        abort(403, "only admins may do this")
    return actor


def require_process_owner() -> Actor:
    actor = current_actor()
    if not (actor.is_admin or PROCESS_OWNERS in actor.groups):
        abort(403, f"deploying needs membership of '{PROCESS_OWNERS}' or 'admin'")
    return actor


def limit_failures(app: Flask) -> Limiter:
    """At most ``BIFLOW_AUTH_FAILURES_PER_MINUTE`` 401s per client address in any minute.

    Only failures count (``deduct_when``), but once a client is over the limit every request
    needing a token answers 429 before the token is looked at: otherwise 200-versus-429 would
    still tell a guesser which token is good. Counts live in ``BIFLOW_RATELIMIT_STORAGE_URL``
    (``memory://``: per server process). Call it before ``authenticate_request`` is added.
    """
    per_minute = int(app.config[FAILURES_PER_MINUTE])
    if per_minute < 1:
        raise ValueError(f"{FAILURES_PER_MINUTE} must be at least 1, not {per_minute}")
    limiter = Limiter(
        get_remote_address, app=app, storage_uri=app.config[STORAGE_URL],
        strategy="moving-window", headers_enabled=False, key_prefix="biflow-auth",
        application_limits=[f"{per_minute} per minute"],
        application_limits_exempt_when=lambda: not needs_token(request.path),
        application_limits_deduct_when=lambda response: response.status_code == 401,
        # unrouted paths (404, 405) still need a token, so their failures count too
        request_identifier=lambda: request.endpoint or "unrouted")

    def too_many(_: RateLimitExceeded) -> Response:
        limit = limiter.current_limit
        retry = max(1, math.ceil(limit.window[0] - time.time())) if limit else 60
        response = error_response(429, "too_many_requests",
                                  "too many failed authentications from this address",
                                  {"retry_after_seconds": retry})
        response.headers["Retry-After"] = str(retry)
        return response

    app.register_error_handler(RateLimitExceeded, too_many)
    return limiter
