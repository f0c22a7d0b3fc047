"""The calendar of the law: which days count, counting them, and the date functions models call.

Expected dates come from the published Belgian calendar (and were counted by hand on a
paper calendar), never from the code under test.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.calendar.days import LegalCalendar
from engine.calendar.moments import add_duration, end_of_day, to_moment
from engine.clock import ManualClock
from engine.expressions import ExpressionError, Sandbox
from engine.expressions.functions import builtin_functions

CALENDAR = LegalCalendar()
DOCS = Path(__file__).parent.parent / "docs" / "calendar.md"

# Easter Monday, Ascension Day and Whit Monday (Pentecost Monday), 2025-2030.
MOVABLE_HOLIDAYS = [
    (date(2025, 4, 21), date(2025, 5, 29), date(2025, 6, 9)),
    (date(2026, 4, 6), date(2026, 5, 14), date(2026, 5, 25)),
    (date(2027, 3, 29), date(2027, 5, 6), date(2027, 5, 17)),
    (date(2028, 4, 17), date(2028, 5, 25), date(2028, 6, 5)),
    (date(2029, 4, 2), date(2029, 5, 10), date(2029, 5, 21)),
    (date(2030, 4, 22), date(2030, 5, 30), date(2030, 6, 10)),
]


def d(text: str) -> date:
    return date.fromisoformat(text)


def walk(calendar: LegalCalendar, start: date, count: int) -> date:
    """The reference: step day by day, as a clerk with a paper calendar would."""
    step = timedelta(days=1 if count >= 0 else -1)
    while count:
        start += step
        count -= (1 if step.days > 0 else -1) * calendar.is_working_day(start)
    return start


class TestWorkingDays:
    @pytest.mark.parametrize("day", [day for row in MOVABLE_HOLIDAYS for day in row])
    def test_movable_holidays_are_not_working_days(self, day: date) -> None:
        assert day.weekday() in (0, 3)  # the table itself: Mondays and a Thursday
        assert not CALENDAR.is_working_day(day)
        assert CALENDAR.is_working_day(day - timedelta(days=7))
        assert CALENDAR.is_working_day(day + timedelta(days=1))

    @pytest.mark.parametrize("easter_monday", [row[0] for row in MOVABLE_HOLIDAYS])
    def test_good_friday_is_a_working_day(self, easter_monday: date) -> None:
        assert CALENDAR.is_working_day(easter_monday - timedelta(days=3))
        assert CALENDAR.non_working_reason(easter_monday) == "Easter Monday"

    @pytest.mark.parametrize("year", [2025, 2026, 2028, 2029, 2030])
    def test_iris_day_on_weekdays(self, year: int) -> None:
        iris = date(year, 5, 8)
        assert iris.weekday() < 5
        assert not CALENDAR.is_working_day(iris)
        assert CALENDAR.non_working_reason(iris) == "Iris Day"

    @pytest.mark.parametrize(("day", "working"), [
        # 2025: Christmas on a Thursday; 26 December is not a public holiday in Belgium
        ("2025-12-24", True), ("2025-12-25", False), ("2025-12-26", True),
        ("2025-12-29", True), ("2025-12-31", True), ("2026-01-01", False),
        # 2027: Christmas on a Saturday, no substitute day
        ("2027-12-24", True), ("2027-12-27", True), ("2027-12-31", True),
        # 2028: Christmas on a Monday
        ("2028-12-22", True), ("2028-12-25", False), ("2028-12-26", True),
    ])
    def test_christmas_week(self, day: str, working: bool) -> None:
        assert CALENDAR.is_working_day(d(day)) is working

    @pytest.mark.parametrize(("day", "working"), [
        ("2027-07-21", False), ("2028-07-21", False),   # Wednesday, Friday
        ("2029-07-21", False), ("2029-07-23", True),    # Saturday: the Monday is worked
        ("2030-07-21", False), ("2030-07-22", True),    # Sunday
        ("2027-11-11", False), ("2028-11-11", False), ("2028-11-13", True),
        ("2029-11-11", False), ("2029-11-12", True),
        ("2027-08-16", True), ("2028-08-15", False), ("2028-11-01", False),
        ("2028-05-01", False), ("2027-05-10", True),
    ])
    def test_fixed_holidays_without_substitute_days(self, day: str, working: bool) -> None:
        assert CALENDAR.is_working_day(d(day)) is working

    @pytest.mark.parametrize(("day", "reason"), [
        ("2027-01-09", "Saturday"),
        ("2027-01-10", "Sunday"),
        ("2027-01-11", None),
        ("2027-03-29", "Easter Monday"),
        ("2028-05-08", "Iris Day"),
        ("2027-05-08", "Iris Day"),  # a Saturday: the holiday is named first
        ("2028-12-25", "Christmas Day"),
        ("1986-05-08", "Ascension Day; Iris Day"),  # Easter on 30 March that year
    ])
    def test_non_working_reason(self, day: str, reason: str | None) -> None:
        assert CALENDAR.non_working_reason(d(day)) == reason
        assert CALENDAR.is_working_day(d(day)) is (reason is None)


class TestClosureDays:
    def test_from_environment(self) -> None:
        calendar = LegalCalendar.from_environment(
            {"BIFLOW_CLOSURE_DAYS": " 2027-12-24, 2027-12-31 ,2028-01-02"})
        assert calendar.closure_days == {d("2027-12-24"), d("2027-12-31"), d("2028-01-02")}
        assert not calendar.is_working_day(d("2027-12-24"))
        assert calendar.non_working_reason(d("2027-12-31")) == "closure day"
        assert calendar.add_working_days(d("2027-12-23"), 1) == d("2027-12-27")
        assert calendar.add_working_days(d("2027-12-30"), 1) == d("2028-01-03")
        assert calendar.working_days_between(d("2027-12-23"), d("2027-12-31")) == 4
        assert CALENDAR.working_days_between(d("2027-12-23"), d("2027-12-31")) == 6

    def test_a_closure_day_on_a_holiday_keeps_the_holiday_name(self) -> None:
        calendar = LegalCalendar([d("2027-11-11")])
        assert calendar.non_working_reason(d("2027-11-11")) == "Armistice Day"

    @pytest.mark.parametrize("environ", [{}, {"BIFLOW_CLOSURE_DAYS": ""},
                                         {"BIFLOW_CLOSURE_DAYS": " , "}])
    def test_none_configured(self, environ: dict[str, str]) -> None:
        assert LegalCalendar.from_environment(environ).closure_days == frozenset()

    @pytest.mark.parametrize(("value", "bad"), [
        ("2027-12-24,24/12/2027", "24/12/2027"),
        ("2027-02-30", "2027-02-30"),
        ("2027-12-24;2027-12-31", "2027-12-24;2027-12-31"),
        ("20271224", "20271224"),
        ("2027-12-24T00:00", "2027-12-24T00:00"),
    ])
    def test_malformed(self, value: str, bad: str) -> None:
        with pytest.raises(ValueError) as info:
            LegalCalendar.from_environment({"BIFLOW_CLOSURE_DAYS": value})
        assert "BIFLOW_CLOSURE_DAYS" in str(info.value)
        assert repr(bad) in str(info.value)


class TestAddWorkingDays:
    @pytest.mark.parametrize(("start", "count", "expected"), [
        ("2027-03-26", 1, "2027-03-30"),    # Good Friday + 1: over Easter Monday
        ("2027-03-25", 2, "2027-03-30"),
        ("2027-03-22", 10, "2027-04-06"),
        ("2027-04-30", 10, "2027-05-18"),   # Ascension, Iris Day (Sat), Whit Monday
        ("2027-04-30", 30, "2027-06-15"),
        ("2027-12-23", 1, "2027-12-24"),
        ("2027-12-23", 2, "2027-12-27"),    # Christmas on a Saturday
        ("2027-12-31", 1, "2028-01-03"),    # New Year on a Saturday
        ("2028-12-22", 1, "2028-12-26"),    # Christmas on a Monday
        ("2027-01-09", 1, "2027-01-11"),    # from a Saturday
        ("2027-01-09", 5, "2027-01-15"),
        ("2027-01-08", 5, "2027-01-15"),
        ("2026-12-31", 254, "2027-12-31"),  # every working day of 2027
        ("2027-12-31", 251, "2028-12-29"),  # every working day of 2028
        ("2027-03-30", -1, "2027-03-26"),   # negative: backwards over Easter
        ("2028-01-03", -1, "2027-12-31"),
        ("2027-01-09", -1, "2027-01-08"),
        ("2027-12-31", -253, "2027-01-04"),
        ("2027-12-31", -254, "2026-12-31"),
        ("2027-01-09", 0, "2027-01-09"),    # 0: unchanged, even on a Saturday
        ("2027-03-29", 0, "2027-03-29"),
    ])
    def test_table(self, start: str, count: int, expected: str) -> None:
        assert CALENDAR.add_working_days(d(start), count) == d(expected)

    def test_large_counts_are_fast(self) -> None:
        started = datetime.now(UTC)
        for offset in range(365):
            day = d("2027-01-01") + timedelta(days=offset)
            assert CALENDAR.add_working_days(day, 250) == walk(CALENDAR, day, 250)
        for offset in range(0, 5000, 7):
            day = d("2000-01-01") + timedelta(days=offset)
            assert CALENDAR.working_days_between(day, CALENDAR.add_working_days(day, 2500)) == 2500
        assert datetime.now(UTC) - started < timedelta(seconds=5)


class TestWorkingDaysBetween:
    @pytest.mark.parametrize(("start", "end", "expected"), [
        ("2027-01-11", "2027-01-11", 0),
        ("2027-01-08", "2027-01-11", 1),     # Friday to Monday
        ("2027-01-08", "2027-01-09", 0),     # Friday to Saturday
        ("2027-01-09", "2027-01-11", 1),     # Saturday to Monday
        ("2027-01-10", "2027-01-17", 5),     # Sunday to Sunday
        ("2027-03-26", "2027-03-30", 1),     # over Easter Monday
        ("2027-04-30", "2027-05-18", 10),
        ("2026-12-31", "2027-12-31", 254),
        ("2027-12-31", "2028-12-31", 251),
        ("2027-03-30", "2027-03-26", -1),
        ("2027-01-11", "2027-01-08", -1),
        ("2027-01-11", "2027-01-09", 0),     # backwards: Saturday and Sunday do not count
        ("2027-12-31", "2026-12-31", -254),  # backwards the start is excluded, the end counted
    ])
    def test_table(self, start: str, end: str, expected: int) -> None:
        assert CALENDAR.working_days_between(d(start), d(end)) == expected

    def test_decades_match_a_day_by_day_count(self) -> None:
        calendar = LegalCalendar([d("2031-12-24"), d("2040-02-29")])
        start, end = d("2024-06-15"), d("2041-03-02")
        by_hand = sum(calendar.is_working_day(start + timedelta(days=i))
                      for i in range(1, (end - start).days + 1))
        assert calendar.working_days_between(start, end) == by_hand
        assert calendar.working_days_between(end, start) == -by_hand


days = st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 12, 31))
CLOSED = LegalCalendar([d("2027-12-24"), d("2027-12-31"), d("2030-06-28")])


class TestProperties:
    @settings(max_examples=300, deadline=None)
    @given(start=days, end=days)
    def test_add_working_days_inverts_working_days_between(self, start: date,
                                                            end: date) -> None:
        count = CLOSED.working_days_between(start, end)
        result = CLOSED.add_working_days(start, count)
        if CLOSED.is_working_day(end):
            assert result == end
        assert CLOSED.working_days_between(start, result) == count

    @settings(max_examples=300, deadline=None)
    @given(start=days, count=st.integers(min_value=-400, max_value=400))
    def test_matches_a_day_by_day_walk(self, start: date, count: int) -> None:
        result = CLOSED.add_working_days(start, count)
        assert result == walk(CLOSED, start, count)
        assert CLOSED.is_working_day(result) or count == 0
        assert CLOSED.working_days_between(start, result) == count
        assert (result > start) == (count > 0) and (result < start) == (count < 0)

    @settings(max_examples=200, deadline=None)
    @given(start=days, end=days)
    def test_antisymmetric_between_working_days(self, start: date, end: date) -> None:
        start, end = CLOSED.add_working_days(start, 1), CLOSED.add_working_days(end, 1)
        assert CLOSED.working_days_between(start, end) == -CLOSED.working_days_between(
            end, start)


class TestDeadlines:
    """A date deadline is the end of that day in Brussels, across the DST changes."""

    @pytest.mark.parametrize(("day", "utc_end"), [
        ("2026-03-28", datetime(2026, 3, 28, 22, 59, 59, 999999, tzinfo=UTC)),  # Saturday, CET
        ("2026-03-29", datetime(2026, 3, 29, 21, 59, 59, 999999, tzinfo=UTC)),  # DST Sunday
        ("2026-10-24", datetime(2026, 10, 24, 21, 59, 59, 999999, tzinfo=UTC)),  # CEST
        ("2026-10-25", datetime(2026, 10, 25, 22, 59, 59, 999999, tzinfo=UTC)),  # back to CET
    ])
    def test_end_of_dst_weekend_days(self, day: str, utc_end: datetime) -> None:
        assert end_of_day(d(day)) == utc_end
        assert to_moment(day, utc_end) == utc_end

    @pytest.mark.parametrize(("day", "hours"), [("2026-03-28", 23), ("2026-10-24", 25),
                                                ("2026-06-13", 24)])
    def test_a_day_later_is_a_calendar_day(self, day: str, hours: int) -> None:
        sandbox = Sandbox(builtin_functions(ManualClock(), CALENDAR))
        later = sandbox.evaluate("add_days(d, 1)", {"d": day})
        assert to_moment(later, datetime.now(UTC)) - to_moment(day, datetime.now(UTC)) == (
            timedelta(hours=hours))

    def test_p1d_keeps_the_brussels_time_of_day_across_dst(self) -> None:
        start = datetime(2026, 3, 28, 11, 0, tzinfo=UTC)  # noon in Brussels, CET
        assert to_moment("P1D", start) == datetime(2026, 3, 29, 10, 0, tzinfo=UTC)  # CEST
        assert to_moment("P1D", start) == add_duration(start, "PT23H")

    def test_working_day_deadline_over_the_dst_weekend(self) -> None:
        sandbox = Sandbox(builtin_functions(ManualClock(), CALENDAR))
        due = sandbox.evaluate("${add_working_days(received_on, 1)}",
                               {"received_on": "2026-03-27"})
        assert due == "2026-03-30"
        assert to_moment(due, datetime.now(UTC)) == datetime(2026, 3, 30, 21, 59, 59, 999999,
                                                              tzinfo=UTC)


START = datetime(2027, 4, 30, 8, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def sandbox(clock: ManualClock) -> Sandbox:
    return Sandbox(builtin_functions(clock, LegalCalendar([d("2027-12-24")])))


class TestExpressionFunctions:
    @pytest.mark.parametrize(("text", "names", "expected"), [
        ("${add_working_days(received_on, 10)}", {"received_on": "2027-04-30"}, "2027-05-18"),
        ("${add_working_days(received_on, 10)}", {"received_on": date(2027, 4, 30)},
         "2027-05-18"),
        ("${add_working_days(received_on, 30)}", {"received_on": "2027-04-30"}, "2027-06-15"),
        ("add_working_days('2027-12-23', 1)", {}, "2027-12-27"),  # the closure day
        ("add_working_days('2027-03-30', -1)", {}, "2027-03-26"),
        ("add_working_days('2027-05-08', 0)", {}, "2027-05-08"),
        # a date-time is read as a day in Brussels: 23:30 UTC is already 30 April there
        ("add_working_days('2027-04-29T23:30:00Z', 10)", {}, "2027-05-18"),
        ("add_working_days(t, 10)", {"t": datetime(2027, 4, 29, 23, 30, tzinfo=UTC)},
         "2027-05-18"),
        ("add_working_days('2027-04-30T09:00:00+02:00', 1)", {}, "2027-05-03"),
        ("add_days('2027-01-31', 1)", {}, "2027-02-01"),
        ("add_days('2027-03-01', -1)", {}, "2027-02-28"),
        ("add_days(d, 30)", {"d": date(2027, 12, 15)}, "2028-01-14"),
        ("add_days('2027-01-15T09:00:00+01:00', 3)", {}, "2027-01-18T09:00:00+01:00"),
        ("add_days('2027-01-15T09:00:00Z', 1)", {}, "2027-01-16T09:00:00+00:00"),
        ("add_days('2027-01-15T09:00:00', 1)", {}, "2027-01-16T09:00:00"),
        ("add_months('2027-01-31', 1)", {}, "2027-02-28"),
        ("add_months('2028-01-31', 1)", {}, "2028-02-29"),
        ("add_months('2027-03-31', -1)", {}, "2027-02-28"),
        ("add_months('2027-03-31', 1)", {}, "2027-04-30"),
        ("add_months('2027-03-31', 11)", {}, "2028-02-29"),
        ("add_months('2027-01-31T09:00:00+01:00', 1)", {}, "2027-02-28T09:00:00+01:00"),
        ("add_months(d, 2)", {"d": datetime(2027, 12, 31, 12, 0, tzinfo=UTC)},
         "2028-02-29T12:00:00+00:00"),
        ("working_days_between(received_on, today())", {"received_on": "2027-04-23"}, 5),
        ("working_days_between('2027-04-30', '2027-05-18')", {}, 10),
        ("working_days_between('2027-05-18', '2027-04-30')", {}, -10),
        ("working_days_between('2027-12-23', '2027-12-27')", {}, 1),
        ("is_working_day('2027-05-08')", {}, False),
        ("is_working_day('2027-05-10')", {}, True),
        ("is_working_day('2027-12-24')", {}, False),
        ("is_working_day('2028-05-07T22:30:00Z')", {}, False),  # 8 May in Brussels
        ("add_working_days(received_on, 10) < '2027-06-01'", {"received_on": "2027-04-30"},
         True),
        ("date('2027-04-29T23:30:00Z')", {}, "2027-04-30"),
    ])
    def test_dates_in_iso_strings_out(self, sandbox: Sandbox, text: str,
                                      names: dict[str, Any], expected: Any) -> None:
        assert sandbox.evaluate(text, names) == expected

    def test_today_is_the_day_in_brussels(self, sandbox: Sandbox, clock: ManualClock) -> None:
        assert sandbox.evaluate("today()", {}) == "2027-04-30"
        clock.set(datetime(2027, 4, 30, 22, 30, tzinfo=UTC))  # 00:30 on 1 May in Brussels
        assert sandbox.evaluate("today()", {}) == "2027-05-01"
        assert sandbox.evaluate("add_working_days(today(), 1)", {}) == "2027-05-03"

    @pytest.mark.parametrize(("text", "names", "fragments"), [
        ("add_working_days(d, 1)", {"d": "15/01/2027"},
         ["ValueError", "add_working_days()", "'15/01/2027' is not an ISO date"]),
        ("add_days('2027-02-30', 1)", {}, ["add_days()", "'2027-02-30'"]),
        ("add_months('2027-01-15 at noon', 1)", {}, ["add_months()", "is not an ISO date"]),
        ("is_working_day('20270115')", {}, ["is_working_day()", "'20270115'"]),
        ("working_days_between('2027-01-15', '')", {}, ["working_days_between()", "''"]),
        ("add_working_days(d, 1)", {"d": None}, ["TypeError", "expects a date, not NoneType"]),
        ("add_months(20270115, 1)", {}, ["add_months() expects a date, not int"]),
        ("add_working_days('2027-01-15', flag)", {"flag": True},
         ["TypeError", "add_working_days() expects a whole number", "bool True"]),
        ("add_days('2027-01-15', 1.5)", {}, ["add_days() expects a whole number", "float 1.5"]),
        ("add_months('2027-01-15', '1')", {}, ["add_months() expects a whole number", "str"]),
        ("add_working_days('2027-01-15')", {}, ["TypeError", "count"]),
        ("add_days('9999-12-31', 1)", {}, ["OverflowError"]),
        ("add_working_days('2027-01-15', n)", {"n": 10 ** 12}, ["OverflowError"]),
    ])
    def test_bad_arguments(self, sandbox: Sandbox, text: str, names: dict[str, Any],
                           fragments: list[str]) -> None:
        with pytest.raises(ExpressionError) as info:
            sandbox.evaluate(text, names)
        for fragment in fragments:
            assert fragment in info.value.message
        assert info.value.expression == text


def _documented_days_off() -> dict[int, dict[date, str]]:
    """The holiday tables of docs/calendar.md: rows ``| 2027-01-01 | Friday | name |``."""
    tables: dict[int, dict[date, str]] = {}
    for day, weekday, name in re.findall(r"^\| (\d{4}-\d\d-\d\d) \| (\w+) \| ([^|]+?) \|",
                                         DOCS.read_text(encoding="utf-8"), re.MULTILINE):
        assert d(day).strftime("%A") == weekday, day
        tables.setdefault(d(day).year, {})[d(day)] = name
    return tables


def test_documented_holidays_are_the_calendars() -> None:
    tables = _documented_days_off()
    assert sorted(tables) == [2027, 2028]
    for year, table in tables.items():
        assert table == CALENDAR.days_off(year)
