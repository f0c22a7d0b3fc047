"""Claiming due rows with a lease: the one mechanism behind jobs, timers and deliveries.

A worker claims a batch of due rows in a short transaction: on PostgreSQL with
``SELECT ... FOR UPDATE SKIP LOCKED`` so that concurrent workers take disjoint batches,
on SQLite under the writer lock (``BEGIN IMMEDIATE``). Each claimed row gets an owner and
an expiry: a worker that dies (kill -9) leaves leases that expire, and another worker
takes the rows again. The work itself is idempotent against its own transaction, so a
row is acted on at most once even when a lease runs out while its owner still works.
"""

from __future__ import annotations

import os
import socket
import uuid
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

Row = TypeVar("Row")


def new_worker_id() -> str:
    """A lease owner name: host, process and a random part (unique per worker object)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def unleased(model: Any, now: datetime):
    """The rows no live lease holds."""
    return or_(model.lock_expires_at.is_(None), model.lock_expires_at < now)


def claim(session: Session, model: type[Row], conditions: list, order_by: list, *,
          worker: str, limit: int, lease: timedelta, now: datetime) -> list[Row]:
    query = (select(model).where(*conditions, unleased(model, now))
             .order_by(*order_by).limit(limit))
    if session.bind.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    rows = list(session.scalars(query))
    for row in rows:
        row.locked_by = worker
        row.lock_expires_at = now + lease
    return rows
