"""Repeating timers: ISO 8601 repeating intervals (``R/P6M``, ``R3/PT10H``,
``R/2027-01-01T09:00:00+01:00/P1D``) and cron expressions.

Occurrence *n* of an interval is computed from the first one (start + n * duration, months
clamped), never from the previous occurrence, so ``R/P1M`` from 31 January gives 28/29
February, then 31 March: no drift. Cron expressions run in Europe/Brussels time; both the
5-field crontab form and Camunda's (Quartz) 6/7-field form with seconds are accepted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.triggers.cron import CronTrigger

from engine.calendar.moments import BRUSSELS, add_duration, parse_duration, scaled, to_moment

CRON = re.compile(r"^[\d*?/,LW#A-Za-z-]+(\s+[\d*?/,LW#A-Za-z-]+){4,6}$")
_QUARTZ_DAYS = {"1": "sun", "2": "mon", "3": "tue", "4": "wed", "5": "thu", "6": "fri",
                "7": "sat"}


def is_cron(text: str) -> bool:
    return bool(CRON.match(text.strip())) and not text.strip().upper().startswith("R")


def cron_trigger(text: str) -> CronTrigger:
    """A 5-field crontab, or a Quartz expression (seconds first, ``?``, days 1=Sunday)."""
    fields = text.split()
    if len(fields) == 5:
        return CronTrigger.from_crontab(text, timezone=BRUSSELS)
    second, minute, hour, day, month, day_of_week, *year = fields
    day_of_week = re.sub(r"\d", lambda m: _QUARTZ_DAYS.get(m.group(), m.group()),
                         day_of_week.replace("?", "*"))
    return CronTrigger(second=second, minute=minute, hour=hour, day=day.replace("?", "*"),
                       month=month, day_of_week=day_of_week, year=year[0] if year else None,
                       timezone=BRUSSELS)


@dataclass(frozen=True)
class Cycle:
    """A parsed repeating timer. ``repetitions`` None: forever.

    An interval's occurrence *n* is ``anchor + (n + skip) * duration``: ``R/P1D`` counts
    from the moment the timer started waiting (skip 1), ``R/start/P1D`` from its start.
    A cron cycle's ``anchor`` is its first fire time.
    """

    text: str
    anchor: datetime
    repetitions: int | None
    duration: str | None = None
    skip: int = 0

    @property
    def first(self) -> datetime:
        return self.occurrence(0, self.anchor) or self.anchor

    def occurrence(self, index: int, previous: datetime) -> datetime | None:
        """Occurrence ``index`` (0-based), or None when the repetitions are used up."""
        if self.repetitions is not None and index >= self.repetitions:
            return None
        if self.duration is not None:
            return add_duration(self.anchor, scaled(self.duration, index + self.skip))
        return self.anchor if index == 0 else _next_cron(self.text, previous)

    def state(self) -> dict[str, Any]:
        """What a waiting task or a start timer keeps between firings (JSON)."""
        return {"text": self.text, "anchor": self.anchor.isoformat(), "skip": self.skip,
                "repetitions": self.repetitions, "duration": self.duration}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> Cycle:
        return cls(state["text"], datetime.fromisoformat(state["anchor"]),
                   state["repetitions"], state["duration"], state["skip"])


def _next_cron(text: str, after: datetime) -> datetime:
    fire = cron_trigger(text).get_next_fire_time(None, after + timedelta(microseconds=1))
    if fire is None:
        raise ValueError(f"the cron expression '{text}' never fires again")
    return fire.astimezone(UTC)


def parse_cycle(text: str, now: datetime) -> Cycle:
    """Raises ValueError with a message for process owners."""
    text = text.strip()
    if is_cron(text):
        try:
            return Cycle(text, _next_cron(text, now), None)
        except (ValueError, TypeError) as exc:
            raise ValueError(f"'{text}' is not a valid cron expression: {exc}") from None
    parts = text.upper().split("/")
    if len(parts) not in (2, 3) or not re.fullmatch(r"R\d*", parts[0]):
        raise ValueError(f"'{text}' is neither an ISO 8601 repeating interval (R/P1D, "
                         "R3/2027-01-01T09:00:00Z/PT10H) nor a cron expression")
    repetitions = int(parts[0][1:]) if len(parts[0]) > 1 else None
    if len(parts) == 2:
        return Cycle(text, now, repetitions, _duration(parts[1], text), skip=1)
    if parts[1].startswith("P"):
        raise ValueError(f"'{text}': write the start first (R/start/duration); "
                         "a duration before an end is not supported")
    first = to_moment(text.strip().split("/")[1], now)
    return Cycle(text, first, repetitions, _duration(parts[2], text))


def check_cycle(text: str) -> None:
    """Raise ValueError when ``text`` is not a repeating interval or cron expression (for
    deploy checks, which have no "now": validity does not depend on it)."""
    parse_cycle(text, datetime(2000, 1, 1, tzinfo=UTC))


def _duration(part: str, text: str) -> str:
    parse_duration(part)
    if add_duration(datetime(2000, 1, 1, tzinfo=UTC), part) <= datetime(2000, 1, 1, tzinfo=UTC):
        raise ValueError(f"'{text}': the interval must be longer than zero")
    return part
