"""Deadlines and timer values turned into UTC moments: calendar arithmetic, Brussels days."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from engine.calendar.moments import BRUSSELS, add_duration, add_months, end_of_day, to_moment

NOW = datetime(2027, 1, 4, 8, 0, tzinfo=UTC)


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


class TestAddMonths:
    """Calendar months clamp to the last day of the target month instead of overflowing."""

    @pytest.mark.parametrize(("start", "months", "expected"), [
        (utc(2027, 1, 31), 1, utc(2027, 2, 28)),
        (utc(2028, 1, 31), 1, utc(2028, 2, 29)),
        (utc(2027, 3, 31), -1, utc(2027, 2, 28)),
        (utc(2027, 3, 31), 1, utc(2027, 4, 30)),
        (utc(2027, 1, 15), 0, utc(2027, 1, 15)),
        (utc(2027, 1, 15), 12, utc(2028, 1, 15)),
        (utc(2027, 1, 31), 13, utc(2028, 2, 29)),
        (utc(2027, 12, 31), 2, utc(2028, 2, 29)),
        (utc(2027, 1, 31), -2, utc(2026, 11, 30)),
        (utc(2027, 1, 10), -13, utc(2025, 12, 10)),
        (utc(2028, 2, 29), 12, utc(2029, 2, 28)),
        (utc(2027, 5, 31, 13, 45, 7, 123), 1, utc(2027, 6, 30, 13, 45, 7, 123)),
    ])
    def test_add_months(self, start: datetime, months: int, expected: datetime) -> None:
        assert add_months(start, months) == expected

    def test_keeps_time_zone(self) -> None:
        start = datetime(2027, 1, 31, 9, 0, tzinfo=BRUSSELS)
        result = add_months(start, 1)
        assert result == datetime(2027, 2, 28, 9, 0, tzinfo=BRUSSELS)
        assert result.tzinfo is BRUSSELS


class TestAddDuration:
    """ISO 8601 durations: months and years clamp, weeks, days and times are exact."""

    @pytest.mark.parametrize(("start", "duration", "expected"), [
        (utc(2027, 1, 31), "P1M", utc(2027, 2, 28)),
        (utc(2027, 1, 15, 10), "P1M", utc(2027, 2, 15, 10)),
        (utc(2027, 3, 1), "P1Y", utc(2028, 3, 1)),
        (utc(2028, 2, 29), "P1Y", utc(2029, 2, 28)),
        (utc(2027, 1, 31), "P1Y1M", utc(2028, 2, 29)),
        (utc(2027, 1, 4, 8), "P10D", utc(2027, 1, 14, 8)),
        (utc(2027, 1, 4, 8), "PT36H", utc(2027, 1, 5, 20)),
        (utc(2027, 1, 4, 8), "P1W", utc(2027, 1, 11, 8)),
        (utc(2027, 1, 4, 8), "P2W3D", utc(2027, 1, 21, 8)),
        (utc(2027, 1, 4, 8), "P1DT2H", utc(2027, 1, 5, 10)),
        (utc(2027, 1, 4, 8), "PT90M", utc(2027, 1, 4, 9, 30)),
        (utc(2027, 1, 4, 8), "PT1.5S", utc(2027, 1, 4, 8, 0, 1, 500000)),
        (utc(2027, 1, 4, 8), "P0D", utc(2027, 1, 4, 8)),
        (utc(2027, 1, 31), "P1MT1H", utc(2027, 2, 28, 1)),
        (utc(2027, 1, 4, 8), " p1d ", utc(2027, 1, 5, 8)),
    ])
    def test_add_duration(self, start: datetime, duration: str, expected: datetime) -> None:
        assert add_duration(start, duration) == expected

    def test_days_are_calendar_days_in_brussels_and_hours_are_elapsed_time(self) -> None:
        """P1D keeps the time of day across a DST change (23 hours here); PT24H does not."""
        before = utc(2027, 3, 27, 12)  # 13:00 in Brussels, winter time
        assert add_duration(before, "P1D") == utc(2027, 3, 28, 11)  # 13:00, summer time
        assert add_duration(before, "PT24H") == utc(2027, 3, 28, 12)
        assert add_duration(utc(2027, 10, 30, 11), "P1W") == utc(2027, 11, 6, 12)

    @pytest.mark.parametrize("duration", [
        "P", "PT", "5D", "P1H", "P1YT", "PT1D", "P-1D", "P1.5D", "1M", "", "P1D2", "R/P1D",
        "2027-01-15",
    ])
    def test_invalid(self, duration: str) -> None:
        with pytest.raises(ValueError, match="ISO 8601 duration"):
            add_duration(NOW, duration)


class TestEndOfDay:
    """A date deadline means the last microsecond of that day in Brussels, whatever the DST."""

    @pytest.mark.parametrize(("day", "expected"), [
        (date(2027, 1, 15), utc(2027, 1, 15, 22, 59, 59, 999999)),
        (date(2027, 12, 31), utc(2027, 12, 31, 22, 59, 59, 999999)),
        (date(2027, 3, 27), utc(2027, 3, 27, 22, 59, 59, 999999)),
        (date(2027, 3, 28), utc(2027, 3, 28, 21, 59, 59, 999999)),
        (date(2027, 7, 1), utc(2027, 7, 1, 21, 59, 59, 999999)),
        (date(2027, 10, 30), utc(2027, 10, 30, 21, 59, 59, 999999)),
        (date(2027, 10, 31), utc(2027, 10, 31, 22, 59, 59, 999999)),
        (date(2028, 2, 29), utc(2028, 2, 29, 22, 59, 59, 999999)),
    ])
    def test_end_of_day(self, day: date, expected: datetime) -> None:
        result = end_of_day(day)
        assert result == expected
        assert result.tzinfo is UTC
        assert result.astimezone(BRUSSELS).date() == day
        assert (result + timedelta(microseconds=1)).astimezone(BRUSSELS).date() > day


class TestToMoment:
    """Every way a model or a form can give a deadline ends up as one aware UTC moment."""

    @pytest.mark.parametrize(("value", "expected"), [
        (date(2027, 1, 15), utc(2027, 1, 15, 22, 59, 59, 999999)),
        (date(2027, 6, 15), utc(2027, 6, 15, 21, 59, 59, 999999)),
        (datetime(2027, 1, 15, 10, 0), utc(2027, 1, 15, 9, 0)),
        (datetime(2027, 6, 15, 10, 0), utc(2027, 6, 15, 8, 0)),
        (utc(2027, 1, 15, 10, 0), utc(2027, 1, 15, 10, 0)),
        (datetime(2027, 1, 15, 10, 0, tzinfo=timezone(timedelta(hours=-5))),
         utc(2027, 1, 15, 15, 0)),
        ("2027-01-15", utc(2027, 1, 15, 22, 59, 59, 999999)),
        (" 2027-08-01 ", utc(2027, 8, 1, 21, 59, 59, 999999)),
        ("2027-01-15T10:00:00Z", utc(2027, 1, 15, 10, 0)),
        ("2027-01-15T10:00:00+02:00", utc(2027, 1, 15, 8, 0)),
        ("2027-01-15T10:00:00", utc(2027, 1, 15, 9, 0)),
        ("2027-07-15T10:00", utc(2027, 7, 15, 8, 0)),
        ("P5D", utc(2027, 1, 9, 8, 0)),
        ("PT2H", utc(2027, 1, 4, 10, 0)),
        ("P1M", utc(2027, 2, 4, 8, 0)),
    ])
    def test_to_moment(self, value: object, expected: datetime) -> None:
        result = to_moment(value, NOW)
        assert result == expected
        assert result.tzinfo is UTC

    def test_duration_is_relative_to_now(self) -> None:
        assert to_moment("P1M", utc(2027, 1, 31, 12)) == utc(2027, 2, 28, 12)
        assert to_moment("P1D", utc(2027, 5, 1)) == utc(2027, 5, 2)

    @pytest.mark.parametrize("value", [
        "garbage", "", "   ", "2027-02-30", "15/01/2027", "P", "PT", "Pizza", "2027-01-15T25:00",
        None, 20270115, 1.5, True, [2027, 1, 15],
    ])
    def test_invalid(self, value: object) -> None:
        with pytest.raises(ValueError):
            to_moment(value, NOW)
