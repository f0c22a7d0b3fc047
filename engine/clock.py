"""The one clock of the engine. Tests and the dev clock move it; nothing else reads time."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Protocol, runtime_checkable


class Clock:
    """Wall-clock time in UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class ManualClock(Clock):
    """A clock that only moves when told to; for tests, demos and scenario runs."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = (start or datetime.now(UTC)).astimezone(UTC)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, delta: timedelta) -> datetime:
        if delta < timedelta(0):
            raise ValueError("the clock only moves forward")
        with self._lock:
            self._now += delta
            return self._now

    def set(self, moment: datetime) -> datetime:
        moment = moment.astimezone(UTC)
        with self._lock:
            if moment < self._now:
                raise ValueError("the clock only moves forward")
            self._now = moment
            return self._now


@runtime_checkable
class MovableClock(Protocol):
    """A clock that demos and scenario tests may move forward (ManualClock, DevClock)."""

    def now(self) -> datetime: ...

    def set(self, moment: datetime) -> datetime: ...
