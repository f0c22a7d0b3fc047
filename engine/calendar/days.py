"""Working days of the Brussels-Capital Region's administration.

Not working: Saturdays, Sundays, Belgian public holidays (the ``holidays`` package),
8 May (Iris Day, the Region's own holiday) and closure days from configuration
(``BIFLOW_CLOSURE_DAYS``).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from datetime import date, timedelta

import holidays


class LegalCalendar:
    # STUB: a helper is completing this module (tables, tests, docs)
    def __init__(self, closure_days: Iterable[date] = ()) -> None:
        self.closure_days = frozenset(closure_days)
        self._belgium = holidays.country_holidays("BE")

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] = os.environ) -> LegalCalendar:
        text = environ.get("BIFLOW_CLOSURE_DAYS", "")
        return cls(date.fromisoformat(part.strip()) for part in text.split(",") if part.strip())

    def is_working_day(self, day: date) -> bool:
        return (day.weekday() < 5 and day not in self._belgium
                and (day.month, day.day) != (5, 8) and day not in self.closure_days)

    def add_working_days(self, day: date, count: int) -> date:
        step = timedelta(days=1 if count >= 0 else -1)
        remaining = abs(count)
        while remaining:
            day += step
            if self.is_working_day(day):
                remaining -= 1
        return day
