"""The audit trail: one append-only event per command, written in the command's transaction.

Each event carries the hash of the previous event of the same instance (system events,
such as deployments, form one chain of their own), so a changed, deleted or reordered
row breaks the chain.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.db.models import AuditEvent


def event_hash(prev_hash: str | None, event: AuditEvent) -> str:
    body = {
        "prev": prev_hash, "instance_id": event.instance_id, "task_id": event.task_id,
        "element_id": event.element_id, "actor": event.actor, "action": event.action,
        "data": event.data, "created_at": event.created_at.isoformat(),
    }
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _last_hash(session: Session, instance_id: str | None) -> str | None:
    cache: dict[str | None, str | None] = session.info.setdefault("audit_last_hash", {})
    if instance_id not in cache:
        query = select(AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)
        query = query.where(AuditEvent.instance_id.is_(None) if instance_id is None
                            else AuditEvent.instance_id == instance_id)
        cache[instance_id] = session.scalars(query).first()
    return cache[instance_id]


def record(session: Session, *, now: datetime, actor: str | None, action: str,
           instance_id: str | None = None, task_id: str | None = None,
           element_id: str | None = None, data: dict[str, Any] | None = None) -> AuditEvent:
    """Append one event to the trail of ``instance_id`` (or the system trail)."""
    event = AuditEvent(instance_id=instance_id, task_id=task_id, element_id=element_id,
                       actor=actor, action=action, data=data or {}, created_at=now)
    prev = _last_hash(session, instance_id)
    event.prev_hash = prev
    event.hash = event_hash(prev, event)
    session.add(event)
    session.info["audit_last_hash"][instance_id] = event.hash
    return event


def events_of(session: Session, instance_id: str) -> list[AuditEvent]:
    return list(session.scalars(select(AuditEvent).where(AuditEvent.instance_id == instance_id)
                                .order_by(AuditEvent.id)))
