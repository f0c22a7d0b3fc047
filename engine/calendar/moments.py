"""Turning what a model says about time (``P5D``, ``2027-01-15``, a date-time) into UTC moments.

A deadline given as a date means the end of that day in Europe/Brussels. Month and year
durations clamp to the end of the month (31 January + P1M = 28/29 February), unlike
SpiffWorkflow's own arithmetic.
"""

from __future__ import annotations

import calendar
import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

BRUSSELS = ZoneInfo("Europe/Brussels")
_DURATION = re.compile(
    r"^P(?:(?P<years>\d+)Y)?(?:(?P<months>\d+)M)?(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    r"(?:T(?=\d)(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+(?:\.\d+)?)S)?)?$")


def add_months(moment: datetime, months: int) -> datetime:
    """Calendar months, clamped to the last day of the target month."""
    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def parse_duration(duration: str) -> dict[str, int | float]:
    """The parts of an ISO 8601 duration (``years``, ``months``, ... ``seconds``)."""
    match = _DURATION.match(duration.strip().upper())
    if not match or duration.strip().upper() in ("P", "PT"):
        raise ValueError(f"'{duration}' is not an ISO 8601 duration")
    return {k: float(v) if k == "seconds" else int(v)
            for k, v in match.groupdict().items() if v is not None}


def scaled(duration: str, times: int) -> str:
    """``duration`` * ``times`` as a duration (``P1M`` * 3 = ``P3M``): the n-th step of an
    interval, computed from its start so that clamped months do not drift."""
    parts = parse_duration(duration)
    date_part = "".join(f"{parts[k] * times}{k[0].upper()}"
                        for k in ("years", "months", "weeks", "days") if k in parts)
    time_part = "".join(f"{parts[k] * times}{k[0].upper()}"
                        for k in ("hours", "minutes", "seconds") if k in parts)
    return "P" + date_part + ("T" + time_part if time_part else "")


def add_duration(moment: datetime, duration: str) -> datetime:
    """``moment`` + an ISO 8601 duration, in the zone of ``moment``.

    Years, months, weeks and days move the calendar in Brussels: the time of day stays
    (09:00 plus P1M is 09:00, summer time or not), months clamp to the end of the month.
    Hours, minutes and seconds are elapsed time. A naive ``moment`` is Brussels time.
    """
    parts = parse_duration(duration)
    zone = moment.tzinfo or BRUSSELS
    local = moment.replace(tzinfo=BRUSSELS) if moment.tzinfo is None else moment.astimezone(
        BRUSSELS)
    local = add_months(local, 12 * parts.get("years", 0) + parts.get("months", 0))
    local += timedelta(weeks=parts.get("weeks", 0), days=parts.get("days", 0))
    result = local.astimezone(UTC) + timedelta(
        hours=parts.get("hours", 0), minutes=parts.get("minutes", 0),
        seconds=parts.get("seconds", 0))
    return result.astimezone(zone)


def end_of_day(day: date) -> datetime:
    """The last microsecond of ``day`` in Brussels, in UTC (DST-safe)."""
    return datetime.combine(day, time.max, tzinfo=BRUSSELS).astimezone(UTC)


def to_moment(value: object, now: datetime) -> datetime:
    """A deadline value: an aware/naive date-time, a date, an ISO string or a duration."""
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=BRUSSELS)).astimezone(UTC)
    if isinstance(value, date):
        return end_of_day(value)
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{value!r} is not a date, date-time or duration")
    text = value.strip()
    if text.upper().startswith("P"):
        return add_duration(now, text)
    if len(text) == 10:
        return end_of_day(date.fromisoformat(text))
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return to_moment(parsed, now)
