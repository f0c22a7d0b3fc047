"""The dev clock: wall time plus an offset that every process of one database shares.

``biflow serve --dev-clock`` (and ``biflow worker --dev-clock``) use it so that a demo or
a scenario run can jump ahead: moving it (``POST /api/dev/clock``) stores the new offset
in the ``settings`` table; every process rereads it at most ``refresh_seconds`` later.
It only moves forward, like any clock the engine trusts for deadlines.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from engine.clock import Clock
from engine.db import Database, UnitOfWork
from engine.db.models import Setting

OFFSET_SETTING = "dev_clock_offset_seconds"


class DevClock(Clock):
    def __init__(self, db: Database, refresh_seconds: float = 0.2) -> None:
        self.db = db
        self.refresh_seconds = refresh_seconds
        self._offset = timedelta(0)
        self._read_at = float("-inf")
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            if time.monotonic() - self._read_at > self.refresh_seconds:
                with self.db.read_engine.connect() as connection:
                    value = connection.scalar(
                        select(Setting.value).where(Setting.name == OFFSET_SETTING))
                self._offset = timedelta(seconds=float(value or 0))
                self._read_at = time.monotonic()
            return datetime.now(UTC) + self._offset

    def advance(self, delta: timedelta) -> datetime:
        if delta < timedelta(0):
            raise ValueError("the clock only moves forward")
        return self._store(lambda offset: offset + delta)

    def set(self, moment: datetime) -> datetime:
        target = moment.astimezone(UTC)

        def offset_for(current: timedelta) -> timedelta:
            if target < datetime.now(UTC) + current:
                raise ValueError("the clock only moves forward")
            return target - datetime.now(UTC)
        return self._store(offset_for)

    def _store(self, change) -> datetime:
        with UnitOfWork(self.db) as uow:
            row = uow.session.get(Setting, OFFSET_SETTING, with_for_update=True)
            current = timedelta(seconds=float(row.value)) if row else timedelta(0)
            offset = change(current)
            if row is None:
                uow.session.add(Setting(name=OFFSET_SETTING, value=repr(offset.total_seconds())))
            else:
                row.value = repr(offset.total_seconds())
        with self._lock:
            self._offset, self._read_at = offset, time.monotonic()
            return datetime.now(UTC) + offset
