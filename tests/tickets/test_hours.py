"""Business hours: when the team is at work, in its own time zone, without public holidays."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tickets.hours import ALWAYS_OPEN, CalendarError, parse_calendar

WARSAW = ZoneInfo("Europe/Warsaw")
PRAGUE = ZoneInfo("Europe/Prague")
OFFICE = {
    "timezone": "Europe/Warsaw",
    "week": {day: [["08:00", "16:00"]] for day in ("mon", "tue", "wed", "thu", "fri")},
    "holidays": "PL",
}


def test_open_in_the_teams_own_time_zone():
    hours = parse_calendar(OFFICE)
    # Tuesday 2026-11-24, 15:30 in Warsaw is 14:30 UTC: open; 16:30 there is closed.
    assert hours.is_open(datetime(2026, 11, 24, 14, 30, tzinfo=UTC))
    assert not hours.is_open(datetime(2026, 11, 24, 15, 30, tzinfo=UTC))


def test_after_hours_the_next_opening_is_the_next_working_morning():
    hours = parse_calendar(OFFICE)
    friday_evening = datetime(2026, 11, 27, 18, 0, tzinfo=WARSAW)
    assert hours.next_open(friday_evening) == datetime(2026, 11, 30, 8, 0, tzinfo=WARSAW)
    during = datetime(2026, 11, 26, 10, 0, tzinfo=WARSAW)
    assert hours.next_open(during) == during


def test_polish_and_czech_public_holidays_are_days_off():
    # 11 November is Independence Day in Poland; 17 November a state holiday in Czechia.
    polish = parse_calendar(OFFICE)
    eve = datetime(2026, 11, 10, 17, 0, tzinfo=WARSAW)
    assert polish.next_open(eve) == datetime(2026, 11, 12, 8, 0, tzinfo=WARSAW)
    czech = parse_calendar({**OFFICE, "timezone": "Europe/Prague", "holidays": "CZ"})
    assert not czech.is_open(datetime(2026, 11, 17, 10, 0, tzinfo=PRAGUE))
    assert czech.is_open(datetime(2026, 11, 11, 10, 0, tzinfo=PRAGUE))


def test_custom_days_off_and_split_days():
    hours = parse_calendar(
        {
            "timezone": "Europe/Prague",
            "week": {"thu": [["13:00", "17:00"], ["08:00", "12:00"]]},
            "closed": ["2026-12-24"],
        }
    )
    lunch = datetime(2026, 11, 26, 12, 30, tzinfo=PRAGUE)
    assert not hours.is_open(lunch)
    assert hours.next_open(lunch) == datetime(2026, 11, 26, 13, 0, tzinfo=PRAGUE)
    # Christmas Eve 2026 is a Thursday, closed: the next Thursday it is.
    assert hours.next_open(datetime(2026, 12, 24, 7, 0, tzinfo=PRAGUE)) == datetime(
        2026, 12, 31, 8, 0, tzinfo=PRAGUE
    )


def test_a_calendar_that_never_opens_has_no_next_opening():
    assert parse_calendar({"timezone": "UTC", "week": {}}).next_open(datetime.now(UTC)) is None


@pytest.mark.parametrize(
    ("calendar", "message"),
    [
        ({"timezone": "Europe/Atlantis"}, "Unknown time zone: Europe/Atlantis."),
        (
            {"week": {"mon": [["09:00", "12:00"], ["11:00", "15:00"]]}},
            "mon: the opening hours overlap.",
        ),
        ({"week": {"tue": [["17:00", "09:00"]]}}, "tue: 17:00–09:00 ends before it starts."),
        ({"week": {"wed": [["9 am", "5 pm"]]}}, "wed: “9 am” is not a time like 09:30."),
        ({"week": {"monday": []}}, "The week's days must be mon, tue, wed, thu, fri, sat or sun."),
        ({"holidays": "XX"}, "Unknown country for public holidays: XX."),
        ({"closed": ["24.12.2026"]}, "Days off must be dates like 2026-12-24."),
    ],
)
def test_a_calendar_that_cannot_work_is_refused_with_the_reason(calendar, message):
    with pytest.raises(CalendarError) as refused:
        parse_calendar(calendar)
    assert str(refused.value) == message


# --- Arithmetic in business time (due times) --------------------------------------------------

WEEKDAYS_8_18 = {
    "timezone": "Europe/Warsaw",
    "week": {d: [["08:00", "18:00"]] for d in ("mon", "tue", "wed", "thu", "fri")},
    "holidays": "PL",
}


def _warsaw(*args):
    return datetime(*args, tzinfo=WARSAW)


def test_two_hours_from_friday_evening_are_due_on_monday_morning():
    hours = parse_calendar(WEEKDAYS_8_18)

    # Friday 27 Nov 2026, 17:00: one hour that day, one on Monday from 08:00.
    assert hours.add(_warsaw(2026, 11, 27, 17, 0), timedelta(hours=2)) == _warsaw(
        2026, 11, 30, 9, 0
    )


def test_a_polish_holiday_is_skipped():
    hours = parse_calendar(WEEKDAYS_8_18)

    # Tuesday 10 Nov 2026 16:00 + 4 h: 2 h that day, 11 Nov is Independence Day, 2 h on the 12th.
    assert hours.add(_warsaw(2026, 11, 10, 16, 0), timedelta(hours=4)) == _warsaw(
        2026, 11, 12, 10, 0
    )


def test_time_before_opening_starts_counting_at_the_opening():
    hours = parse_calendar(WEEKDAYS_8_18)

    assert hours.add(_warsaw(2026, 11, 30, 6, 30), timedelta(minutes=30)) == _warsaw(
        2026, 11, 30, 8, 30
    )


def test_open_time_between_two_moments_leaves_out_nights_weekends_and_holidays():
    hours = parse_calendar(WEEKDAYS_8_18)

    start, end = _warsaw(2026, 11, 10, 17, 0), _warsaw(2026, 11, 16, 9, 0)
    # Tue 1 h, Wed 11 Nov off, Thu 10 h, Fri 10 h, weekend off, Mon 1 h.
    assert hours.between(start, end) == timedelta(hours=22)
    assert hours.between(end, start) == timedelta(0)


def test_adding_then_measuring_gives_the_duration_back():
    hours = parse_calendar(WEEKDAYS_8_18)
    start = _warsaw(2026, 12, 23, 15, 45)

    due = hours.add(start, timedelta(hours=7, minutes=30))

    assert hours.between(start, due) == timedelta(hours=7, minutes=30)


def test_a_policy_without_a_calendar_counts_every_hour():
    start = _warsaw(2026, 11, 28, 23, 0)  # a Saturday night

    assert ALWAYS_OPEN.add(start, timedelta(hours=3)) == start + timedelta(hours=3)
