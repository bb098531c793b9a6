"""Due times: business hours, public holidays, pauses, the next-response cycle, policy matching."""

from __future__ import annotations

from datetime import datetime

import pytest
import time_machine

from tickets.changes import update_ticket
from tickets.hours import CalendarError
from tickets.models import Priority, Status, Tag, Ticket
from tickets.replies import record_reply
from tickets.sla import PolicyError, save_policy

from .conftest import PRAGUE, WARSAW, office

pytestmark = pytest.mark.django_db


def fresh(ticket) -> Ticket:
    return Ticket.objects.get(pk=ticket.pk)


def test_it_counts_only_business_hours(inbox, receive, policy):
    policy(first_response_minutes=120, resolution_minutes=16 * 60, calendar=office())
    # Friday 15:00 in Warsaw: one hour left that day, the other on Monday morning.
    with time_machine.travel(datetime(2026, 11, 27, 15, 0, tzinfo=WARSAW), tick=False):
        ticket = fresh(receive(inbox).ticket)
    assert ticket.first_response_due_at == datetime(2026, 11, 30, 9, 0, tzinfo=WARSAW)
    assert ticket.resolution_due_at == datetime(2026, 12, 1, 15, 0, tzinfo=WARSAW)
    # The sweep looks first when the warning (80 % of two hours) is due: Monday 08:36.
    assert ticket.sla_check_at == datetime(2026, 11, 30, 8, 36, tzinfo=WARSAW)


@pytest.mark.parametrize(
    ("calendar", "received", "due"),
    [
        # 11 November: Independence Day in Poland.
        (
            office(),
            datetime(2026, 11, 10, 15, 0, tzinfo=WARSAW),
            datetime(2026, 11, 12, 9, 0, tzinfo=WARSAW),
        ),
        # 17 November: Struggle for Freedom and Democracy Day in Czechia.
        (
            office("Europe/Prague", "CZ"),
            datetime(2026, 11, 16, 15, 0, tzinfo=PRAGUE),
            datetime(2026, 11, 18, 9, 0, tzinfo=PRAGUE),
        ),
        # A custom day off on top of the Czech holiday.
        (
            office("Europe/Prague", "CZ", closed=["2026-11-18"]),
            datetime(2026, 11, 16, 15, 0, tzinfo=PRAGUE),
            datetime(2026, 11, 19, 9, 0, tzinfo=PRAGUE),
        ),
    ],
    ids=["polish-holiday", "czech-holiday", "custom-day-off"],
)
def test_it_skips_public_holidays_and_days_off(inbox, receive, policy, calendar, received, due):
    policy(first_response_minutes=120, calendar=calendar)
    with time_machine.travel(received, tick=False):
        ticket = fresh(receive(inbox).ticket)
    assert ticket.first_response_due_at == due


def test_it_stops_the_clocks_while_pending_or_on_hold(inbox, receive, policy, agent, clock):
    policy(first_response_minutes=4 * 60, resolution_minutes=8 * 60)
    ticket = receive(inbox).ticket
    assert fresh(ticket).resolution_due_at == datetime(2026, 11, 24, 18, 0, tzinfo=WARSAW)

    clock.move_to(datetime(2026, 11, 24, 11, 0, tzinfo=WARSAW))
    update_ticket(ticket=ticket, actor=agent, status=Status.ON_HOLD)
    held = fresh(ticket)
    assert held.resolution_due_at is None and held.first_response_due_at is None
    assert held.sla_check_at is None  # nothing for the sweep while paused

    clock.move_to(datetime(2026, 11, 24, 13, 0, tzinfo=WARSAW))
    update_ticket(ticket=ticket, actor=agent, status=Status.OPEN)
    resumed = fresh(ticket)
    # Two hours on hold: both clocks are due two hours later.
    assert resumed.resolution_due_at == datetime(2026, 11, 24, 20, 0, tzinfo=WARSAW)
    assert resumed.first_response_due_at == datetime(2026, 11, 24, 16, 0, tzinfo=WARSAW)

    # Pending until the customer answers: their message restarts the clocks.
    record_reply(
        ticket=ticket,
        author=agent,
        text="Could you send the invoice number?",
        status=Status.PENDING,
    )
    clock.move_to(datetime(2026, 11, 24, 14, 0, tzinfo=WARSAW))
    assert fresh(ticket).resolution_due_at is None
    clock.move_to(datetime(2026, 11, 24, 15, 0, tzinfo=WARSAW))
    receive(inbox, text="It is FV/2026/11/0042.")
    answered = fresh(ticket)
    assert answered.status == Status.OPEN
    assert answered.resolution_due_at == datetime(2026, 11, 24, 22, 0, tzinfo=WARSAW)


def test_pauses_count_only_business_hours(inbox, receive, policy, agent):
    policy(resolution_minutes=8 * 60, calendar=office())
    with time_machine.travel(datetime(2026, 11, 24, 8, 0, tzinfo=WARSAW), tick=False) as t:
        ticket = receive(inbox).ticket
        assert fresh(ticket).resolution_due_at == datetime(2026, 11, 24, 16, 0, tzinfo=WARSAW)
        t.move_to(datetime(2026, 11, 24, 15, 0, tzinfo=WARSAW))
        update_ticket(ticket=ticket, actor=agent, status=Status.PENDING)
        # Pending overnight: only the hour to 16:00 and the hour from 08:00 count.
        t.move_to(datetime(2026, 11, 25, 9, 0, tzinfo=WARSAW))
        update_ticket(ticket=ticket, actor=agent, status=Status.OPEN)
    assert fresh(ticket).resolution_due_at == datetime(2026, 11, 25, 10, 0, tzinfo=WARSAW)


def test_next_response_runs_from_the_oldest_unanswered_message(
    inbox, receive, policy, agent, clock
):
    policy(first_response_minutes=60, next_response_minutes=30)
    ticket = receive(inbox).ticket
    clock.move_to(datetime(2026, 11, 24, 10, 10, tzinfo=WARSAW))
    record_reply(ticket=ticket, author=agent, text="Dzień dobry, już sprawdzam.")
    replied = fresh(ticket)
    assert replied.first_response_due_at is None and replied.next_response_due_at is None

    clock.move_to(datetime(2026, 11, 24, 10, 20, tzinfo=WARSAW))
    receive(inbox, text="Thank you. One more thing...")
    clock.move_to(datetime(2026, 11, 24, 10, 40, tzinfo=WARSAW))
    receive(inbox, text="...and the address changed.")
    assert fresh(ticket).next_response_due_at == datetime(2026, 11, 24, 10, 50, tzinfo=WARSAW)

    clock.move_to(datetime(2026, 11, 24, 10, 45, tzinfo=WARSAW))
    record_reply(ticket=ticket, author=agent, text="Noted, thank you.")
    assert fresh(ticket).next_response_due_at is None


def test_the_first_matching_policy_applies(inbox, other_inbox, receive, policy, agent, clock):
    vip = policy(name="VIP", position=0, customer_tags=["vip"], first_response_minutes=15)
    urgent = policy(
        name="Urgent", position=1, priorities=[Priority.URGENT], first_response_minutes=30
    )
    billing = policy(
        name="Billing", position=2, inbox_ids=[other_inbox.pk], first_response_minutes=240
    )

    plain = fresh(receive(inbox, sender="anna@example.com").ticket)
    assert plain.sla_policy_id is None and plain.first_response_due_at is None

    billed = fresh(receive(other_inbox, sender="ewa@example.com").ticket)
    assert billed.sla_policy_id == billing.pk
    assert billed.first_response_due_at == datetime(2026, 11, 24, 14, 0, tzinfo=WARSAW)

    # Raising the priority moves the ticket under a stricter policy at once.
    update_ticket(ticket=billed, actor=agent, priority=Priority.URGENT)
    raised = fresh(billed)
    assert raised.sla_policy_id == urgent.pk
    assert raised.first_response_due_at == datetime(2026, 11, 24, 10, 30, tzinfo=WARSAW)

    first = receive(inbox, sender="karel@example.com")
    first.ticket.customer.tags.add(Tag.objects.create(name="vip"))
    update_ticket(ticket=first.ticket, actor=agent, status=Status.OPEN)
    assert fresh(first.ticket).sla_policy_id == vip.pk


def test_solving_stops_every_clock(inbox, receive, policy, agent, clock):
    policy(first_response_minutes=60, resolution_minutes=240)
    ticket = receive(inbox).ticket
    update_ticket(ticket=ticket, actor=agent, status=Status.SOLVED)
    solved = fresh(ticket)
    assert (solved.first_response_due_at, solved.resolution_due_at, solved.sla_check_at) == (
        None,
        None,
        None,
    )


@pytest.mark.parametrize(
    ("calendar", "reason"),
    [
        (
            {
                "timezone": "Europe/Warsaw",
                "week": {"mon": [["08:00", "12:00"], ["11:00", "16:00"]]},
            },
            "mon: the opening hours overlap.",
        ),
        (
            {"timezone": "Mars/Olympus", "week": {"mon": [["08:00", "16:00"]]}},
            "Unknown time zone: Mars/Olympus.",
        ),
        ({"week": {"mon": [["16:00", "08:00"]]}}, "mon: 16:00–08:00 ends before it starts."),
    ],
)
def test_an_invalid_calendar_is_refused_with_the_reason(db, calendar, reason):
    with pytest.raises(CalendarError, match=reason):
        save_policy(name="Broken", first_response_minutes=60, calendar=calendar)


def test_a_policy_needs_a_target(db):
    with pytest.raises(PolicyError):
        save_policy(name="Empty")


def test_no_policy_costs_ingest_one_query(inbox, receive, django_assert_max_num_queries):
    ticket = receive(inbox).ticket
    # The same message on an existing ticket with no policy anywhere: nothing is written.
    with django_assert_max_num_queries(20) as captured:
        receive(inbox, text="Another question")
    sql = [q["sql"] for q in captured.captured_queries]
    assert len([q for q in sql if "tickets_slapolicy" in q]) == 1  # the policy list
    assert len([q for q in sql if q.startswith('UPDATE "tickets_ticket"')]) == 1  # ingest's own
    assert fresh(ticket).sla_check_at is None


def test_a_new_policy_reaches_the_open_tickets(inbox, receive, clock):
    from tickets.sla import recompute_open_tickets

    ticket = receive(inbox).ticket
    created = save_policy(name="Late", resolution_minutes=60)
    assert recompute_open_tickets() == 1  # what the queued task does
    reached = fresh(ticket)
    assert reached.sla_policy_id == created.pk
    assert reached.resolution_due_at == datetime(2026, 11, 24, 11, 0, tzinfo=WARSAW)
