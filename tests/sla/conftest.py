"""SLA fixtures: policies saved through tickets.sla.save_policy, as the manager pages do."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

from tickets.sla import save_policy

WARSAW = ZoneInfo("Europe/Warsaw")
PRAGUE = ZoneInfo("Europe/Prague")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")


def office(zone: str = "Europe/Warsaw", country: str = "PL", **extra) -> dict:
    """08:00–16:00 on weekdays in the zone, minus the country's public holidays."""
    return {
        "timezone": zone,
        "week": {day: [["08:00", "16:00"]] for day in WEEKDAYS},
        "holidays": country,
        **extra,
    }


@pytest.fixture
def policy(db):
    """policy(**fields) -> SlaPolicy; round the clock unless a calendar is given."""

    def _policy(**fields):
        fields.setdefault("name", "Standard")
        return save_policy(**fields)

    return _policy


@pytest.fixture
def clock():
    """A stopped clock at Tuesday 2026-11-24 10:00 in Warsaw; clock.move_to(datetime) moves it."""
    with time_machine.travel(datetime(2026, 11, 24, 10, 0, tzinfo=WARSAW), tick=False) as t:
        yield t
