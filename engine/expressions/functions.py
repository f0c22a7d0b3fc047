"""The functions expressions may call. The clock-dependent ones read the engine clock.

Date functions take dates in (a ``date``, a ``datetime`` or ISO text, as form fields and
variables hold them) and give ISO text out, which timer values, due dates and variables
store as they are. A date-time is read as a day in Brussels, where the law counts days.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from typing import Any

from engine.calendar.days import LegalCalendar
from engine.calendar.moments import BRUSSELS, add_months
from engine.clock import Clock

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_EXAMPLES = "'2027-01-15' or '2027-01-15T09:00:00+01:00'"
#: days a working-day function may span: each year it reaches costs computing its holidays
MAX_SPAN_DAYS = 100 * 366
#: digits ``round`` may be asked for: ``round(1, -10**8)`` would compute ``10**10**8``
MAX_ROUND_DIGITS = 4300


def is_empty(value: Any) -> bool:
    """JUEL's ``empty``: null, an empty string or an empty collection."""
    if value is None:
        return True
    try:
        return len(value) == 0
    except TypeError:
        return False


def _moment(value: Any, function: str) -> date | datetime:
    """A date or date-time argument; messages name the function, for the modeller."""
    if isinstance(value, date):
        return value
    if not isinstance(value, str):
        raise TypeError(f"{function}() expects a date, not {type(value).__name__} {value!r}")
    text = value.strip()
    try:
        if _ISO_DATE.fullmatch(text):
            return date.fromisoformat(text)
        if _ISO_DATE.match(text) and text[10:11] in ("T", " "):
            return datetime.fromisoformat(text)
    except ValueError:
        pass
    raise ValueError(f"{function}(): {value!r} is not an ISO date or date-time "
                     f"(expected e.g. {_EXAMPLES})")


def _day(value: Any, function: str) -> date:
    """The day a date or date-time falls on in Brussels (a naive date-time is Brussels time)."""
    moment = _moment(value, function)
    if not isinstance(moment, datetime):
        return moment
    return moment.astimezone(BRUSSELS).date() if moment.tzinfo else moment.date()


def _whole(value: Any, function: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{function}() expects a whole number of days or months, "
                        f"not {type(value).__name__} {value!r}")
    return value


def _shifter(function: str, move: Callable[[datetime, int], datetime]) -> Callable[..., str]:
    """An expression function applying ``move``; a date stays a date, a date-time keeps its
    offset."""

    def shift(value: Any, count: Any) -> str:
        moment, count = _moment(value, function), _whole(count, function)
        if isinstance(moment, datetime):
            return move(moment, count).isoformat()
        return move(datetime.combine(moment, time()), count).date().isoformat()

    return shift


def _plus_days(moment: datetime, days: int) -> datetime:
    return moment + timedelta(days=days)


def _within_span(days: int, function: str) -> None:
    if abs(days) > MAX_SPAN_DAYS:
        raise OverflowError(f"{function}() spans {abs(days):,} days, which exceeds "
                         f"{MAX_SPAN_DAYS:,}")


def _round(value: Any, ndigits: Any = None) -> Any:
    if isinstance(ndigits, int) and abs(ndigits) > MAX_ROUND_DIGITS:
        raise OverflowError(f"round() to {ndigits} digits exceeds {MAX_ROUND_DIGITS:,} digits")
    return round(value, ndigits)


def builtin_functions(clock: Clock, calendar: LegalCalendar) -> dict[str, Callable[..., Any]]:
    """Functions for a sandbox bound to ``clock`` and the working days of ``calendar``."""

    def add_working_days(value: Any, count: Any) -> str:
        day, count = _day(value, "add_working_days"), _whole(count, "add_working_days")
        _within_span(count * 7 // 5, "add_working_days")
        return calendar.add_working_days(day, count).isoformat()

    def working_days_between(start: Any, end: Any) -> int:
        first, last = _day(start, "working_days_between"), _day(end, "working_days_between")
        _within_span((last - first).days, "working_days_between")
        return calendar.working_days_between(first, last)

    return {
        "is_empty": is_empty,
        "len": len,
        "str": str,
        "int": int,
        "float": float,
        "bool": bool,
        "round": _round,
        "abs": abs,
        "min": min,
        "max": max,
        "now": lambda: clock.now().isoformat(),
        "today": lambda: clock.now().astimezone(BRUSSELS).date().isoformat(),
        "date": lambda value: _day(value, "date").isoformat(),
        "add_days": _shifter("add_days", _plus_days),
        "add_months": _shifter("add_months", add_months),
        "add_working_days": add_working_days,
        "working_days_between": working_days_between,
        "is_working_day": lambda value: calendar.is_working_day(_day(value, "is_working_day")),
    }
