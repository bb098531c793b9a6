"""Business hours: when a team is at work, in its own time zone, minus public holidays.

A calendar is plain data (an inbox's config["business_hours"] today):

    {"timezone": "Europe/Warsaw",
     "week": {"mon": [["08:00", "16:00"]], ..., "fri": [["08:00", "12:00"], ["13:00", "16:00"]]},
     "holidays": "PL",                         # the `holidays` package's country code, optional
     "closed": ["2026-12-24", "2026-12-31"]}   # extra days off, optional

A day missing from "week" is a day off. `parse_calendar` refuses a calendar that
is not valid (an unknown time zone or country, overlapping or back-to-front
hours) with a sentence naming the fault, so it is refused when saved, not
when a customer is waiting.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import cached_property
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays as holiday_calendars
from django.utils.translation import gettext as _

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# How far ahead next_open() looks before it gives up (a calendar that is always closed).
LOOKAHEAD_DAYS = 60


class CalendarError(ValueError):
    """The calendar cannot be used; the message says why, for the person editing it."""


@dataclass(frozen=True)
class BusinessHours:
    timezone: ZoneInfo
    # Per weekday (0 = Monday) the opening spans, sorted and not overlapping.
    week: tuple[tuple[tuple[time, time], ...], ...]
    country: str = ""
    closed: frozenset[date] = frozenset()

    @cached_property
    def _holidays(self) -> holiday_calendars.HolidayBase | dict:
        return holiday_calendars.country_holidays(self.country) if self.country else {}

    def is_day_off(self, day: date) -> bool:
        return day in self.closed or day in self._holidays

    def spans(self, day: date) -> tuple[tuple[datetime, datetime], ...]:
        """The day's opening hours as aware datetimes (none on a day off)."""
        if self.is_day_off(day):
            return ()
        return tuple(
            (
                datetime.combine(day, start, self.timezone),
                # "24:00" is kept as time.max and means the next midnight.
                datetime.combine(day, end, self.timezone)
                if end != time.max
                else datetime.combine(day + timedelta(days=1), time(0), self.timezone),
            )
            for start, end in self.week[day.weekday()]
        )

    def is_open(self, at: datetime) -> bool:
        local = at.astimezone(self.timezone)
        return any(start <= local < end for start, end in self.spans(local.date()))

    def next_open(self, at: datetime) -> datetime | None:
        """`at` itself when open, else the next opening; None if none in LOOKAHEAD_DAYS."""
        local = at.astimezone(self.timezone)
        for offset in range(LOOKAHEAD_DAYS + 1):
            day = local.date() + timedelta(days=offset)
            for start, end in self.spans(day):
                if local < end:
                    return max(start, local)
        return None

    def add(self, start: datetime, duration: timedelta) -> datetime | None:
        """The moment `duration` of open time after `start` (a due time in business hours).

        Closed time does not count: 2 h added at 17:00 on a Friday, open 08–18 Mon–Fri,
        is 09:00 on Monday. None if the calendar has no such moment within LOOKAHEAD_DAYS.
        """
        left = duration
        local = start.astimezone(self.timezone)
        for offset in range(LOOKAHEAD_DAYS + 1):
            day = local.date() + timedelta(days=offset)
            for span_start, span_end in self.spans(day):
                if local >= span_end:
                    continue
                begin = max(span_start, local)
                available = span_end - begin
                if left <= available:
                    return begin + left
                left -= available
        return None

    def between(self, start: datetime, end: datetime) -> timedelta:
        """Open time from `start` to `end` (zero when end is not after start)."""
        if end <= start:
            return timedelta(0)
        total = timedelta(0)
        local_start, local_end = start.astimezone(self.timezone), end.astimezone(self.timezone)
        day = local_start.date()
        while day <= local_end.date():
            for span_start, span_end in self.spans(day):
                begin, finish = max(span_start, local_start), min(span_end, local_end)
                if finish > begin:
                    total += finish - begin
            day += timedelta(days=1)
        return total


ALWAYS_OPEN: BusinessHours  # set below: 24/7 in UTC, for a policy without a calendar


def _clock(value: Any, where: str) -> time:
    if value == "24:00":
        return time.max
    try:
        hours, minutes = str(value).split(":")
        return time(int(hours), int(minutes))
    except (TypeError, ValueError):
        raise CalendarError(
            _("%(where)s: “%(value)s” is not a time like 09:30.") % {"where": where, "value": value}
        ) from None


def parse_calendar(data: Any) -> BusinessHours:
    """A BusinessHours from its stored form, or CalendarError naming what is wrong."""
    if not isinstance(data, dict):
        raise CalendarError(_("Business hours must be an object."))
    name = data.get("timezone") or "UTC"
    try:
        zone = ZoneInfo(str(name))
    except (ZoneInfoNotFoundError, ValueError):
        raise CalendarError(_("Unknown time zone: %(zone)s.") % {"zone": name}) from None
    week_data = data.get("week") or {}
    if not isinstance(week_data, dict) or set(week_data) - set(DAYS):
        raise CalendarError(_("The week's days must be mon, tue, wed, thu, fri, sat or sun."))
    week = []
    for day in DAYS:
        spans = []
        for span in week_data.get(day) or []:
            if not isinstance(span, (list, tuple)) or len(span) != 2:
                raise CalendarError(
                    _("%(day)s: each opening is a pair like [“09:00”, “17:00”].") % {"day": day}
                )
            start, end = _clock(span[0], day), _clock(span[1], day)
            if start >= end:
                raise CalendarError(
                    _("%(day)s: %(start)s–%(end)s ends before it starts.")
                    % {"day": day, "start": span[0], "end": span[1]}
                )
            spans.append((start, end))
        spans.sort()
        for (_start, end), (next_start, _end) in zip(spans, spans[1:], strict=False):
            if next_start < end:
                raise CalendarError(_("%(day)s: the opening hours overlap.") % {"day": day})
        week.append(tuple(spans))
    country = str(data.get("holidays") or "").upper()
    if country and country not in holiday_calendars.list_supported_countries():
        raise CalendarError(_("Unknown country for public holidays: %(code)s.") % {"code": country})
    try:
        closed = frozenset(date.fromisoformat(str(day)) for day in data.get("closed") or [])
    except ValueError:
        raise CalendarError(_("Days off must be dates like 2026-12-24.")) from None
    return BusinessHours(timezone=zone, week=tuple(week), country=country, closed=closed)


ALWAYS_OPEN = parse_calendar(
    {"timezone": "UTC", "week": {day: [["00:00", "24:00"]] for day in DAYS}}
)
