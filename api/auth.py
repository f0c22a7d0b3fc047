"""Who is calling. Identity is a user id plus groups (``engine.identity.Actor``).

Today a bearer token from ``biflow user add``; an OIDC provider can replace it by
supplying another :class:`Authenticator` to ``create_app`` — nothing else changes.
"""

from __future__ import annotations

from typing import Protocol

from flask import abort, current_app, g, request

from engine.data import check_user_data
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
