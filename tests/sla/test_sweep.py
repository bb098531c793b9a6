"""The SLA sweep: warnings, breaches, escalation and notices, each exactly once."""

from __future__ import annotations

from datetime import datetime

import pytest
from django.conf import settings
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tickets.changes import update_ticket
from tickets.models import EventKind, Priority, Status, Ticket, TimelineEvent
from tickets.sla import sweep_sla
from tickets.tasks import sla_sweep

from .conftest import WARSAW

pytestmark = pytest.mark.django_db


def sla_events(ticket) -> list[tuple[str, str | None]]:
    return list(
        TimelineEvent.objects.filter(ticket=ticket, kind__startswith="sla_")
        .order_by("id")
        .values_list("kind", "data__clock")
    )


@pytest.fixture
def assigned(inbox, receive, agent, manager, team, clock):
    """A ticket received at 10:00, assigned to the agent; the manager leads its team."""
    team.lead = manager
    team.save()
    ticket = receive(inbox).ticket
    update_ticket(ticket=ticket, actor=manager, assignee=agent)
    return ticket


def test_it_warns_once_at_the_configured_share(
    policy, assigned, clock, django_capture_on_commit_callbacks
):
    policy(first_response_minutes=100, warn_percent=80, notify_by_email=True)
    update_ticket(ticket=assigned, actor=None, status=Status.OPEN)  # picks the policy up
    clock.move_to(datetime(2026, 11, 24, 11, 19, tzinfo=WARSAW))
    assert sweep_sla().warned == 0
    clock.move_to(datetime(2026, 11, 24, 11, 21, tzinfo=WARSAW))
    with django_capture_on_commit_callbacks(execute=True):
        result = sweep_sla()
    assert (result.warned, result.breached) == (1, 0)
    with django_capture_on_commit_callbacks(execute=True):
        again = sweep_sla()
    assert again.tickets == 0  # the next check is the due time, not yet
    assert sla_events(assigned) == [(EventKind.SLA_WARNING, "first_response")]
    # The assignee and the team lead, once each.
    assert sorted(m.to[0] for m in mail.outbox) == ["agnieszka@example.com", "manager@example.com"]
    assert "SLA nearing" in mail.outbox[0].subject


def test_a_breach_is_marked_once_and_escalated(
    policy, assigned, other_team, clock, django_capture_on_commit_callbacks
):
    policy(
        first_response_minutes=60,
        escalate_priority=Priority.URGENT,
        escalate_team=other_team,
    )
    update_ticket(ticket=assigned, actor=None, status=Status.OPEN)
    clock.move_to(datetime(2026, 11, 24, 11, 1, tzinfo=WARSAW))
    with django_capture_on_commit_callbacks(execute=True):
        result = sweep_sla()
    assert (result.warned, result.breached, result.escalated) == (0, 1, 1)
    ticket = Ticket.objects.get(pk=assigned.pk)
    assert ticket.priority == Priority.URGENT
    assert ticket.team == other_team
    assert ticket.assignee is None  # the agent is not in the team it went to
    assert sla_events(ticket) == [
        (EventKind.SLA_BREACHED, "first_response"),
        (EventKind.SLA_ESCALATED, None),
    ]
    assert mail.outbox == []  # the policy does not mail

    clock.move_to(datetime(2026, 11, 24, 12, 0, tzinfo=WARSAW))
    assert sweep_sla().tickets == 0
    assert len(sla_events(ticket)) == 2


def test_a_beat_that_was_down_catches_up_without_repeating(
    policy, assigned, clock, django_capture_on_commit_callbacks
):
    policy(first_response_minutes=60, resolution_minutes=120, notify_by_email=True)
    update_ticket(ticket=assigned, actor=None, status=Status.OPEN)
    # Nobody swept for five hours: both targets were missed meanwhile.
    clock.move_to(datetime(2026, 11, 24, 15, 0, tzinfo=WARSAW))
    with django_capture_on_commit_callbacks(execute=True):
        assert sla_sweep() == 1
    with django_capture_on_commit_callbacks(execute=True):
        assert sla_sweep() == 0  # a restarted beat: nothing twice
    # Too late to warn: breaches only, each once, and two mails to each of two people.
    assert sla_events(assigned) == [
        (EventKind.SLA_BREACHED, "first_response"),
        (EventKind.SLA_BREACHED, "resolution"),
    ]
    assert len(mail.outbox) == 4
    assert Ticket.objects.get(pk=assigned.pk).sla_check_at is None


def test_a_paused_ticket_is_not_swept(policy, assigned, agent, clock):
    policy(first_response_minutes=60)
    update_ticket(ticket=assigned, actor=agent, status=Status.PENDING)
    clock.move_to(datetime(2026, 11, 24, 18, 0, tzinfo=WARSAW))
    assert sweep_sla().tickets == 0
    assert sla_events(assigned) == []


def test_a_new_cycle_of_next_response_warns_again(policy, inbox, receive, agent, clock):
    from tickets.replies import record_reply

    policy(next_response_minutes=10, warn_percent=50)
    ticket = receive(inbox).ticket
    record_reply(ticket=ticket, author=agent, text="Hello!")
    for minute in (0, 20):
        clock.move_to(datetime(2026, 11, 24, 10, 30 + minute, tzinfo=WARSAW))
        receive(inbox, text="Still there?")
        clock.move_to(datetime(2026, 11, 24, 10, 36 + minute, tzinfo=WARSAW))
        assert sweep_sla().warned == 1
        record_reply(ticket=ticket, author=agent, text="Yes.")
    assert sla_events(ticket) == [(EventKind.SLA_WARNING, "next_response")] * 2


def test_the_sweep_reads_only_due_tickets(policy, inbox, receive, clock):
    policy(first_response_minutes=60)
    for number in range(5):
        receive(inbox, sender=f"customer{number}@example.com")
    clock.move_to(datetime(2026, 11, 24, 10, 30, tzinfo=WARSAW))
    with CaptureQueriesContext(connection) as captured:
        assert sweep_sla().tickets == 0
    # Nothing due yet: the policy list and one range query, nothing written.
    sql = [q["sql"] for q in captured.captured_queries if "SAVEPOINT" not in q["sql"]]
    assert len(sql) == 2
    assert '"sla_check_at" <=' in sql[1]


def test_the_sweep_is_on_the_beat_schedule():
    schedule = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert "tickets.tasks.sla_sweep" in schedule


@pytest.mark.skipif(
    "postgresql" not in settings.DATABASES["default"]["ENGINE"], reason="PostgreSQL's plan"
)
def test_the_due_query_is_an_index_range_scan(clock):
    from django.db import transaction
    from django.utils import timezone

    from tickets.sla import due_tickets

    with transaction.atomic():
        # An empty test table is read whole by choice; what matters is that the
        # partial index answers the query (on a million rows it is an ordered range scan).
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_seqscan = off")
        plan = due_tickets(at=timezone.now(), limit=1000).explain()
    assert "Index Scan on ticket_sla_check" in plan or "Index Scan using ticket_sla_check" in plan
