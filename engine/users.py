"""Users, their groups and API tokens.

A token is ``bif_`` followed by 32 random bytes (URL-safe base64). Only its SHA-256 is
stored: a database leak yields no usable token. The indexed lookup by that hash leaks
nothing useful by its timing: what it compares is the hash of the presented token, and
steering that hash towards a stored one byte by byte would take SHA-256 preimages of a
256-bit secret. The row found is still checked with ``hmac.compare_digest``, so no
comparison done in Python depends on where two hashes differ.

Identity is a user id plus groups (:class:`engine.identity.Actor`), so an OIDC provider
can replace tokens without touching the rest of the engine.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from engine.db.models import ApiToken, User, UserGroup
from engine.errors import Conflict, NotFound, ValidationFailed
from engine.identity import Actor

TOKEN_PREFIX = "bif_"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,254}$")


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _check_name(value: str, field: str) -> str:
    if not _NAME.match(value or ""):
        raise ValidationFailed(f"invalid {field}", details={field: [
            "letters, digits and . _ @ - (starting with a letter or digit), at most 255"]})
    return value


def add_user(session: Session, name: str, groups: Iterable[str], *, now: datetime,
             display_name: str | None = None, email: str | None = None) -> User:
    _check_name(name, "name")
    groups = sorted({_check_name(g, "group") for g in groups})
    if session.get(User, name) is not None:
        raise Conflict(f"user '{name}' already exists")
    user = User(id=name, display_name=display_name, email=email, created_at=now)
    session.add(user)
    session.add_all(UserGroup(user_id=name, group=g) for g in groups)
    return user


def issue_token(session: Session, name: str, *, now: datetime) -> str:
    """A new token for ``name``; returned once, stored only as a hash."""
    if session.get(User, name) is None:
        raise NotFound(f"no user '{name}'")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(ApiToken(user_id=name, token_hash=hash_token(token), created_at=now))
    return token


def revoke_tokens(session: Session, name: str, *, now: datetime) -> int:
    if session.get(User, name) is None:
        raise NotFound(f"no user '{name}'")
    result = session.execute(update(ApiToken).where(ApiToken.user_id == name,
                                                    ApiToken.revoked_at.is_(None))
                             .values(revoked_at=now))
    return result.rowcount or 0


def authenticate(session: Session, token: str) -> Actor | None:
    """The actor a bearer token stands for, or ``None`` (unknown, malformed or revoked)."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    presented = hash_token(token)
    rows = [row for row in session.execute(
        select(ApiToken.token_hash, ApiToken.user_id, UserGroup.group)
        .outerjoin(UserGroup, UserGroup.user_id == ApiToken.user_id)
        .where(ApiToken.token_hash == presented, ApiToken.revoked_at.is_(None)))
        if hmac.compare_digest(row.token_hash, presented)]
    if not rows:
        return None
    return Actor(rows[0].user_id, frozenset(row.group for row in rows if row.group is not None))
