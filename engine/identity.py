"""Who issues a command: a user id and groups. Tokens today, an OIDC provider tomorrow."""

from __future__ import annotations

from dataclasses import dataclass, field

ADMIN_GROUP = "admin"


@dataclass(frozen=True)
class Actor:
    user_id: str
    groups: frozenset[str] = field(default_factory=frozenset)

    @property
    def is_admin(self) -> bool:
        return ADMIN_GROUP in self.groups

    @classmethod
    def of(cls, user_id: str, *groups: str) -> Actor:
        return cls(user_id, frozenset(groups))


#: The engine itself (job executor, timers): may do everything, recorded as "system".
SYSTEM = Actor("system", frozenset({ADMIN_GROUP}))
