"""The audit trail: one append-only event per command, written in the command's transaction.

Each event carries the hash of the previous event of the same instance (system events,
such as deployments, form one chain of their own), so a changed, deleted or reordered
row breaks the chain. The head of an instance's chain is kept on the instance row, which
every command on the instance updates under its optimistic lock: two commands can never
append to one chain concurrently, and no extra query is needed to find the head.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.db.models import AuditEvent, Instance


def event_hash(prev_hash: str | None, event: AuditEvent) -> str:
    body = {
        "prev": prev_hash, "instance_id": event.instance_id, "task_id": event.task_id,
        "element_id": event.element_id, "actor": event.actor, "action": event.action,
        "data": event.data, "created_at": event.created_at.isoformat(),
    }
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _system_head(session: Session) -> str | None:
    cache: dict[str, str | None] = session.info.setdefault("audit_system_head", {})
    if "head" not in cache:
        cache["head"] = session.scalars(
            select(AuditEvent.hash).where(AuditEvent.instance_id.is_(None))
            .order_by(AuditEvent.id.desc()).limit(1)).first()
    return cache["head"]


def record(session: Session, *, now: datetime, actor: str | None, action: str,
           instance: Instance | None = None, task_id: str | None = None,
           element_id: str | None = None, data: dict[str, Any] | None = None) -> AuditEvent:
    """Append one event to the trail of ``instance`` (or, without one, the system trail)."""
    event = AuditEvent(instance_id=instance.id if instance else None, task_id=task_id,
                       element_id=element_id, actor=actor, action=action, data=data or {},
                       created_at=now)
    prev = instance.audit_head if instance is not None else _system_head(session)
    event.prev_hash = prev
    event.hash = event_hash(prev, event)
    session.add(event)
    if instance is not None:
        instance.audit_head = event.hash
    else:
        session.info["audit_system_head"]["head"] = event.hash
    return event
