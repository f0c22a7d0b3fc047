"""Who is calling. Identity is a user id plus groups (``engine.identity.Actor``).

Today a bearer token from ``biflow user add``; an OIDC provider can replace it by
supplying another :class:`Authenticator` to ``create_app`` — nothing else changes.
"""

from __future__ import annotations

from typing import Protocol

from flask import abort, current_app, g, request

from engine.identity import Actor

PUBLIC_PATHS = frozenset({"/api/health", "/api/openapi.json", "/api/docs"})
PROCESS_OWNERS = "process-owners"


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


def _has_nul(value: object) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(item) for item in value)
    return False


def refuse_nul_characters() -> None:
    """``before_request``: NUL characters are never valid input (PostgreSQL cannot store
    them); refuse them in the path, the query and JSON bodies before anything reads them."""
    if "\x00" in request.path or any(_has_nul(k) or _has_nul(v)
                                      for k, v in request.args.items(multi=True)):
        abort(400, "NUL characters are not allowed in the URL")
    if request.is_json and _has_nul(request.get_json(silent=True)):
        abort(400, "NUL characters are not allowed in the body")


def authenticate_request() -> None:
    """``before_request``: every ``/api`` path but the public ones needs a valid token."""
    path = request.path.rstrip("/") or "/"
    if not path.startswith("/api") or path in PUBLIC_PATHS or path.startswith("/api/docs"):
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
