"""The functions expressions may call. The clock-dependent ones read the engine clock."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from engine.calendar.days import LegalCalendar
from engine.clock import Clock


def is_empty(value: Any) -> bool:
    """JUEL's ``empty``: null, an empty string or an empty collection."""
    if value is None:
        return True
    try:
        return len(value) == 0
    except TypeError:
        return False


def _to_date(value: date | datetime | str) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def builtin_functions(clock: Clock, calendar: LegalCalendar) -> dict[str, Callable[..., Any]]:
    """Functions for a sandbox bound to ``clock`` and the working days of ``calendar``."""
    return {
        "is_empty": is_empty,
        "len": len,
        "str": str,
        "int": int,
        "float": float,
        "bool": bool,
        "round": round,
        "abs": abs,
        "min": min,
        "max": max,
        "now": lambda: clock.now().isoformat(),
        "today": lambda: clock.now().date().isoformat(),
        "date": lambda value: _to_date(value).isoformat(),
    }
