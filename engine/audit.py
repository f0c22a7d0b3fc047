"""The audit trail: one append-only event per command, written in the command's transaction.

Each event carries the hash of the previous event of the same instance (system events,
such as deployments, form one chain of their own), so a changed, deleted or reordered
row breaks the chain. The head of an instance's chain is kept on the instance row, which
every command on the instance updates under its optimistic lock: two commands can never
append to one chain concurrently, and no extra query is needed to find the head. The head
of the system chain is the ``audit.system_head`` setting, locked while a system event is
appended, so that concurrent deployments queue instead of forking the chain.
:func:`verify` walks the chains and names every break (``biflow audit verify``).
"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from operator import attrgetter
from typing import Any, NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.db.models import AuditEvent, Instance, Setting

SYSTEM_HEAD = "audit.system_head"


def event_hash(prev_hash: str | None, event: AuditEvent) -> str:
    body = {
        "prev": prev_hash, "instance_id": event.instance_id, "task_id": event.task_id,
        "element_id": event.element_id, "actor": event.actor, "action": event.action,
        "data": event.data, "created_at": event.created_at.isoformat(),
    }
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _system_head(session: Session) -> Setting:
    """The system chain's head row, locked for this transaction (made on first use when the
    database was not migrated: from the last system event)."""
    row = session.get(Setting, SYSTEM_HEAD, with_for_update=True)
    if row is None:
        last = session.scalars(select(AuditEvent.hash).where(AuditEvent.instance_id.is_(None))
                               .order_by(AuditEvent.id.desc()).limit(1)).first()
        row = Setting(name=SYSTEM_HEAD, value=last or "")
        session.add(row)
    return row


def record(session: Session, *, now: datetime, actor: str | None, action: str,
           instance: Instance | None = None, task_id: str | None = None,
           element_id: str | None = None, data: dict[str, Any] | None = None) -> AuditEvent:
    """Append one event to the trail of ``instance`` (or, without one, the system trail)."""
    event = AuditEvent(instance_id=instance.id if instance else None, task_id=task_id,
                       element_id=element_id, actor=actor, action=action, data=data or {},
                       created_at=now)
    head = _system_head(session) if instance is None else None
    prev = instance.audit_head if head is None else (head.value or None)
    event.prev_hash = prev
    event.hash = event_hash(prev, event)
    session.add(event)
    if head is None:
        instance.audit_head = event.hash
    else:
        head.value = event.hash
    return event


# -- verification --------------------------------------------------------------------------

@dataclass(frozen=True)
class Finding:
    """One break in a chain. ``kind``: ``changed`` (content no longer matches its hash),
    ``deleted`` (events missing before it), ``inserted`` (it does not follow its
    predecessor), ``truncated`` (events missing at the end), ``orphaned`` (no instance row).
    ``instance_id`` None is the system chain; ``event_id`` None: no event is left."""

    instance_id: str | None
    event_id: int | None
    kind: str
    message: str

    def __str__(self) -> str:
        chain = f"instance {self.instance_id}" if self.instance_id else "system chain"
        event = f"event {self.event_id}" if self.event_id is not None else "no event"
        return f"{chain}, {event}: {self.kind}: {self.message}"


class Report(NamedTuple):
    findings: list[Finding]
    events: int
    chains: int


def verify(session: Session) -> list[Finding]:
    """Every break in every chain, by chain and event id; empty when the trail is intact."""
    return report(session).findings


def report(session: Session) -> Report:
    """Walk every chain in id order, streaming (rows, not ORM objects: no identity map)."""
    heads: dict[str | None, str | None] = {row.id: row.audit_head for row in session.execute(
        select(Instance.id, Instance.audit_head))}
    system_head = session.scalar(select(Setting.value).where(Setting.name == SYSTEM_HEAD))
    if system_head:
        heads[None] = system_head
    rows = session.execute(select(AuditEvent.__table__)
                           .order_by(AuditEvent.instance_id, AuditEvent.id)
                           .execution_options(yield_per=1000))
    findings: list[Finding] = []
    events = chains = 0
    for instance_id, chain in itertools.groupby(rows, key=attrgetter("instance_id")):
        chains += 1
        events += _walk(instance_id, chain, heads, findings)
    findings += [Finding(instance_id, None, "truncated", "every event of its chain is gone")
                 for instance_id, head in heads.items() if head is not None]
    return Report(findings, events, chains)


def _walk(instance_id: str | None, chain: Iterable[Any], heads: dict[str | None, str | None],
          findings: list[Finding]) -> int:
    """Check one chain, appending its findings; pops its head from ``heads``.

    Each check is local to one event and its predecessor, so one changed or deleted row
    is one finding, not a cascade over the rest of the chain.
    """
    seen: dict[str | None, int | None] = {None: None}  # hash -> id of the event with it
    follower: dict[str | None, int] = {}  # hash -> id of the first event pointing to it
    previous = None
    count = 0
    for event in chain:
        count += 1
        problem = _problem(event, previous, seen, follower)
        if problem:
            findings.append(Finding(instance_id, event.id, *problem))
        seen.setdefault(event.hash, event.id)
        follower.setdefault(event.prev_hash, event.id)
        previous = event
    if instance_id is None and None not in heads:
        return count  # a database never migrated past 0006 keeps no system head
    if instance_id not in heads:
        findings.append(Finding(instance_id, previous.id, "orphaned",
                                "the chain's instance row does not exist"))
        return count
    head = heads.pop(instance_id)
    if previous.hash != head and head is not None and head in seen:
        findings.append(Finding(instance_id, follower.get(head, previous.id), "inserted",
                                f"comes after event {seen[head]}, the chain's last "
                                "recorded event: appended behind the engine's back"))
    elif previous.hash != head:
        findings.append(Finding(instance_id, previous.id, "truncated",
                                "the chain's last recorded event is not in the chain: "
                                "events after this one were deleted"))
    return count


def _problem(event: Any, previous: Any, seen: dict[str | None, int | None],
             follower: dict[str | None, int]) -> tuple[str, str] | None:
    if event.hash != event_hash(event.prev_hash, event):
        return "changed", "its content no longer matches its hash"
    expected = previous.hash if previous is not None else None
    if event.prev_hash == expected:
        return None
    if event.prev_hash in seen:
        after = seen[event.prev_hash]
        target = f"event {after}" if after is not None else "the start of the chain"
        also = (f", which event {follower[event.prev_hash]} already follows"
                if event.prev_hash in follower else "")
        return "inserted", f"follows {target}{also}, not its predecessor"
    if previous is None:
        return "deleted", "the events before it are missing"
    return "deleted", f"the events between event {previous.id} and this one are missing"
