"""Working days of the Brussels-Capital Region's administration.

Not working: Saturdays, Sundays, Belgian public holidays (the ``holidays`` package),
8 May (Iris Day, the Region's own holiday) and closure days from configuration
(``BIFLOW_CLOSURE_DAYS``). Legal time limits are counted in these days, so counting must
be exact and cheap: whole weeks are counted arithmetically, holidays are looked up in
per-year tables that are built once.
"""

from __future__ import annotations

import os
import re
from bisect import bisect_left
from collections.abc import Iterable, Mapping
from datetime import date, timedelta

import holidays

CLOSURE_DAYS_VARIABLE = "BIFLOW_CLOSURE_DAYS"
IRIS_DAY = "Iris Day"
CLOSURE_DAY = "closure day"
_WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_ONE_DAY = timedelta(days=1)


class _Year:
    """The days off of one year: names by date, and the weekdays among them, sorted."""

    def __init__(self, names: dict[date, str]) -> None:
        self.names = names
        self.weekdays = sorted(day for day in names if day.weekday() < 5)

    def weekdays_off(self, start: date, stop: date) -> int:
        """Weekdays off in ``[start, stop)``."""
        return bisect_left(self.weekdays, stop) - bisect_left(self.weekdays, start)


class LegalCalendar:
    """Which days count when a time limit is expressed in working days."""

    def __init__(self, closure_days: Iterable[date] = ()) -> None:
        self.closure_days = frozenset(closure_days)
        self._years: dict[int, _Year] = {}

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] = os.environ) -> LegalCalendar:
        """Closure days from ``BIFLOW_CLOSURE_DAYS`` (``2027-12-24,2027-12-31``).

        A typo must stop the engine at start-up rather than silently shift every deadline.
        """
        text = environ.get(CLOSURE_DAYS_VARIABLE, "")
        return cls(_parse_closure_day(part.strip()) for part in text.split(",") if part.strip())

    def non_working_reason(self, day: date) -> str | None:
        """Why ``day`` is not a working day ("Easter Monday", "Saturday"), None if it is one.

        A holiday or closure day is named before the weekend, so a holiday falling on a
        Saturday is reported as that holiday.
        """
        name = self._year(day.year).names.get(day)
        if name is not None:
            return name
        return _WEEKDAY_NAMES[day.weekday()] if day.weekday() >= 5 else None

    def is_working_day(self, day: date) -> bool:
        return day.weekday() < 5 and day not in self._year(day.year).names

    def days_off(self, year: int) -> dict[date, str]:
        """Holidays, Iris Day and closure days of ``year``, by date (plain weekends not listed)."""
        return dict(sorted(self._year(year).names.items()))

    def add_working_days(self, day: date, count: int) -> date:
        """The ``count``-th working day after ``day`` (before it when negative).

        ``day`` itself is never counted; ``count == 0`` returns ``day`` unchanged, even when
        it is not a working day.
        """
        forward = count >= 0
        remaining = abs(count)
        while remaining > 5:  # jump whole weeks (5 working days at most), then walk the last
            target = day + timedelta(weeks=(remaining - 1) // 5) * (1 if forward else -1)
            remaining -= abs(self.working_days_between(day, target))
            day = target
        step = _ONE_DAY if forward else -_ONE_DAY
        while remaining:
            day += step
            if self.is_working_day(day):
                remaining -= 1
        return day

    def working_days_between(self, start: date, end: date) -> int:
        """Working days from ``start`` (excluded) to ``end`` (included), negative backwards.

        The number of steps :meth:`add_working_days` takes from ``start`` to ``end``: when
        ``end`` is a working day, ``add_working_days(start, working_days_between(start,
        end)) == end`` in both directions.
        """
        if start <= end:
            return self._count(start + _ONE_DAY, end + _ONE_DAY)
        return -self._count(end, start)

    def _count(self, start: date, stop: date) -> int:
        """Working days in ``[start, stop)``: weekdays by arithmetic, minus weekdays off."""
        weeks, rest = divmod((stop - start).days, 7)
        weekdays = 5 * weeks + sum((start.weekday() + i) % 7 < 5 for i in range(rest))
        days_off = sum(self._year(year).weekdays_off(start, stop)
                       for year in range(start.year, stop.year + 1))
        return weekdays - days_off

    def _year(self, year: int) -> _Year:
        cached = self._years.get(year)
        if cached is None:
            names = dict(holidays.country_holidays("BE", years=year, language="en_US"))
            iris = date(year, 5, 8)  # may be Ascension Day too (1986): keep both names
            names[iris] = f"{names[iris]}; {IRIS_DAY}" if iris in names else IRIS_DAY
            for day in self.closure_days:
                if day.year == year and day not in names:
                    names[day] = CLOSURE_DAY
            cached = self._years[year] = _Year(names)
        return cached


def _parse_closure_day(text: str) -> date:
    try:
        if _ISO_DATE.fullmatch(text):
            return date.fromisoformat(text)
    except ValueError:
        pass
    raise ValueError(f"{CLOSURE_DAYS_VARIABLE}: {text!r} is not a date written YYYY-MM-DD "
                     "(expected comma-separated dates such as 2027-12-24,2027-12-31)")
