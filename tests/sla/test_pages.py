"""Managers edit SLA policies in the UI; agents see time left and overdue clocks."""

from __future__ import annotations

from datetime import datetime

import pytest
from django.urls import reverse

from tickets.changes import update_ticket
from tickets.models import SlaPolicy, Status, Ticket
from tickets.sla import retire_policy, sweep_sla

from .conftest import WARSAW

pytestmark = pytest.mark.django_db

FORM = {
    "name": "Business hours, Poland",
    "position": "0",
    "is_active": "on",
    "first_response_minutes": "120",
    "next_response_minutes": "",
    "resolution_minutes": "960",
    "warn_percent": "75",
    "timezone": "Europe/Warsaw",
    "holidays": "PL",
    "hours_mon": "08:00-12:00, 13:00-16:00",
    "hours_tue": "08:00-16:00",
    "hours_wed": "08:00-16:00",
    "hours_thu": "08:00-16:00",
    "hours_fri": "08:00-14:00",
    "closed": "2026-12-24\n2026-12-31",
}


def test_a_manager_creates_a_policy_with_business_hours(client, manager):
    client.force_login(manager)
    response = client.post(reverse("agents:sla_policy_new"), FORM)
    assert response.status_code == 302
    policy = SlaPolicy.objects.get()
    assert policy.calendar == {
        "timezone": "Europe/Warsaw",
        "week": {
            "mon": [["08:00", "12:00"], ["13:00", "16:00"]],
            "tue": [["08:00", "16:00"]],
            "wed": [["08:00", "16:00"]],
            "thu": [["08:00", "16:00"]],
            "fri": [["08:00", "14:00"]],
        },
        "holidays": "PL",
        "closed": ["2026-12-24", "2026-12-31"],
    }
    assert (policy.first_response_minutes, policy.warn_percent) == (120, 75)
    listing = client.get(reverse("agents:sla_policies"))
    assert "Business hours, Poland" in listing.content.decode()
    # The edit form shows the hours as they were written.
    edit = client.get(reverse("agents:sla_policy_edit", args=[policy.pk])).content.decode()
    assert 'value="08:00-12:00, 13:00-16:00"' in edit


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"hours_mon": "08:00-12:00, 11:00-16:00"}, "mon: the opening hours overlap."),
        ({"timezone": "Europe/Atlantis"}, "Unknown time zone: Europe/Atlantis."),
        ({"hours_tue": "8 to 4"}, "is not a time like 09:30."),
    ],
)
def test_an_invalid_calendar_is_refused_with_a_clear_message(client, manager, change, reason):
    client.force_login(manager)
    response = client.post(reverse("agents:sla_policy_new"), {**FORM, **change})
    assert response.status_code == 422
    assert reason in response.content.decode()
    assert not SlaPolicy.objects.exists()


def test_agents_may_not_edit_policies(client, agent):
    client.force_login(agent)
    assert client.get(reverse("agents:sla_policies")).status_code == 403
    assert client.post(reverse("agents:sla_policy_new"), FORM).status_code == 403


def test_an_edit_and_a_delete(client, manager, policy, inbox, receive):
    old = policy(name="Old", first_response_minutes=60)
    ticket = receive(inbox).ticket
    assert Ticket.objects.get(pk=ticket.pk).sla_policy_id == old.pk
    client.force_login(manager)
    response = client.post(
        reverse("agents:sla_policy_edit", args=[old.pk]), {**FORM, "name": "Renamed"}
    )
    assert response.status_code == 302
    assert SlaPolicy.objects.get(pk=old.pk).name == "Renamed"
    response = client.post(reverse("agents:sla_policy_delete", args=[old.pk]))
    assert response.status_code == 302
    assert not SlaPolicy.objects.get(pk=old.pk).is_active  # stopped at once
    retire_policy(policy_id=old.pk)  # what the queued task does
    assert not SlaPolicy.objects.filter(pk=old.pk).exists()
    left = Ticket.objects.get(pk=ticket.pk)
    assert (left.sla_policy_id, left.first_response_due_at, left.sla_check_at) == (None, None, None)


def test_the_inbox_and_ticket_show_time_left_then_overdue(
    client, agent, policy, inbox, receive, clock
):
    policy(first_response_minutes=90, resolution_minutes=480)
    ticket = receive(inbox).ticket
    client.force_login(agent)
    page = client.get(reverse("agents:inbox")).content.decode()
    # The row's narrow column shows the clock due first, in whole hours; its name is spoken.
    assert "1 h left" in page and "First response due in 1 h 30 min" in page
    assert "Resolution due in" not in page
    header = client.get(reverse("agents:ticket", args=[ticket.pk])).content.decode()
    assert "First response due in 1 h 30 min" in header
    assert "Resolution due in 8 h 0 min" in header
    clock.move_to(datetime(2026, 11, 24, 11, 45, tzinfo=WARSAW))
    sweep_sla()
    view = client.get(reverse("agents:ticket", args=[ticket.pk])).content.decode()
    assert "First response overdue by 15 min" in view
    assert "SLA target missed" in view  # the breach on the timeline

    update_ticket(ticket=ticket, actor=agent, status=Status.ON_HOLD)
    row = client.get(reverse("agents:ticket_row", args=[ticket.pk]) + "?status=on_hold")
    assert "SLA paused" in row.content.decode()
