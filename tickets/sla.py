"""Service levels: which policy a ticket falls under, when its clocks are due, and the sweep.

Three clocks run on a ticket under a policy (models.SlaPolicy), each in the
open time of the policy's calendar (tickets/hours.py):

- first response: from the ticket's creation until the first public agent reply;
- next response: from the oldest customer message no agent has answered yet;
- resolution: from the ticket's creation until it is solved.

They stop while the ticket is pending or on hold: every such spell is kept on
the ticket (sla_pauses), so a due time is always re-derived from the facts, never
nudged. recompute_clocks() runs inside the transaction of every event that can
move a clock (ingest, record_reply, update_ticket) and writes the due times and
`sla_check_at`, the next moment anything is to be done, with one UPDATE at most.

sweep_sla() (the beat task tickets.tasks.sla_sweep) reads only the tickets whose
sla_check_at has come, by a range scan over a partial index, so its cost does not
depend on the tickets with nothing due. What it did is marked on the ticket
(sla_warned / sla_breached bits) in the same transaction as the timeline events,
so a restarted beat or worker repeats nothing and misses nothing.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import IntFlag
from functools import lru_cache
from typing import Any

from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from .events import SlaBreached, SlaWarned, TicketChanged, emit
from .hours import ALWAYS_OPEN, BusinessHours, CalendarError, parse_calendar
from .models import (
    LISTED_OPEN,
    OPEN_STATUSES,
    EventKind,
    SlaPolicy,
    Status,
    Tag,
    Team,
    Ticket,
    TimelineEvent,
)

log = logging.getLogger(__name__)

PAUSING = (Status.PENDING, Status.ON_HOLD)
# Tickets one sweep transaction takes; the task runs batches until none is left.
SWEEP_BATCH = 1000
# Pause spells kept per ticket: older ones merge into one (a clock only needs their length).
MAX_PAUSES = 20


class Clock(IntFlag):
    FIRST_RESPONSE = 1
    NEXT_RESPONSE = 2
    RESOLUTION = 4


CLOCKS = (Clock.FIRST_RESPONSE, Clock.NEXT_RESPONSE, Clock.RESOLUTION)
CLOCK_NAMES = {
    Clock.FIRST_RESPONSE: "first_response",
    Clock.NEXT_RESPONSE: "next_response",
    Clock.RESOLUTION: "resolution",
}
DUE_FIELDS = {
    Clock.FIRST_RESPONSE: "first_response_due_at",
    Clock.NEXT_RESPONSE: "next_response_due_at",
    Clock.RESOLUTION: "resolution_due_at",
}
ALL_BITS = int(Clock.FIRST_RESPONSE | Clock.NEXT_RESPONSE | Clock.RESOLUTION)


@dataclass(frozen=True)
class Rules:
    """A policy as the clocks use it: conditions as sets, targets as durations."""

    id: int
    inbox_ids: frozenset[int]
    channels: frozenset[str]
    priorities: frozenset[int]
    customer_tags: frozenset[str]
    targets: dict[Clock, timedelta]
    warn_share: float
    hours: BusinessHours
    escalate_priority: int | None = None
    escalate_team_id: int | None = None
    notify_by_email: bool = False

    @classmethod
    def of(cls, policy: SlaPolicy) -> Rules:
        minutes = {
            Clock.FIRST_RESPONSE: policy.first_response_minutes,
            Clock.NEXT_RESPONSE: policy.next_response_minutes,
            Clock.RESOLUTION: policy.resolution_minutes,
        }
        return cls(
            id=policy.pk,
            inbox_ids=frozenset(int(i) for i in policy.inbox_ids or ()),
            channels=frozenset(policy.channels or ()),
            priorities=frozenset(int(p) for p in policy.priorities or ()),
            customer_tags=frozenset(policy.customer_tags or ()),
            targets={c: timedelta(minutes=m) for c, m in minutes.items() if m},
            warn_share=min(max(policy.warn_percent, 1), 100) / 100,
            hours=_hours(json.dumps(policy.calendar, sort_keys=True))
            if policy.calendar
            else ALWAYS_OPEN,
            escalate_priority=policy.escalate_priority,
            escalate_team_id=policy.escalate_team_id,
            notify_by_email=policy.notify_by_email,
        )

    def matches(self, ticket: Ticket, customer_tags: Callable[[], set[str]]) -> bool:
        if self.inbox_ids and ticket.inbox_id not in self.inbox_ids:
            return False
        if self.channels and ticket.last_channel not in self.channels:
            return False
        if self.priorities and ticket.priority not in self.priorities:
            return False
        return not self.customer_tags or bool(self.customer_tags & customer_tags())


@lru_cache(maxsize=64)
def _hours(calendar: str) -> BusinessHours:
    """A parsed calendar, kept: its holidays are computed once per process, not per message."""
    try:
        return parse_calendar(json.loads(calendar))
    except CalendarError:
        # Refused when saved; a calendar broken since (a country dropped by the
        # holidays package) must not stop the clocks: count every hour instead.
        log.exception("an SLA policy has an invalid calendar: %s", calendar)
        return ALWAYS_OPEN


def active_policies() -> list[Rules]:
    """Every active policy in the order they are tried: one query on a small table."""
    return [Rules.of(policy) for policy in SlaPolicy.objects.filter(is_active=True)]


def match_policy(ticket: Ticket, policies: Iterable[Rules]) -> Rules | None:
    """The first policy whose conditions all hold (customer tags are queried once, if needed)."""
    tags: set[str] | None = None

    def customer_tags() -> set[str]:
        nonlocal tags
        if tags is None:
            tags = set(
                Tag.objects.filter(customers=ticket.customer_id).values_list("name", flat=True)
            )
        return tags

    return next((rules for rules in policies if rules.matches(ticket, customer_tags)), None)


# --- Computing clocks --------------------------------------------------------------


Pause = tuple[datetime, datetime | None]


def _load_pauses(stored: Any) -> list[Pause]:
    pauses: list[Pause] = []
    for item in stored or ():
        start = parse_datetime(item[0]) if item and item[0] else None
        end = parse_datetime(item[1]) if len(item) > 1 and item[1] else None
        if start is not None:
            pauses.append((start, end))
    return pauses


def _dump_pauses(pauses: list[Pause]) -> list[list[str | None]]:
    return [[start.isoformat(), end.isoformat() if end else None] for start, end in pauses]


def due_time(
    hours: BusinessHours, start: datetime, target: timedelta, pauses: list[Pause]
) -> datetime | None:
    """When `target` of open time has run from `start`, not counting the pauses.

    None while the clock stands still (a pause still going on, begun before the due
    time); a pause that begins after the due time changes nothing: the target was
    missed. None too if the calendar has no such moment in its lookahead.
    """
    due = hours.add(start, target)
    for pause_start, pause_end in sorted(pauses, key=lambda p: p[0]):
        if due is None:
            return None
        if pause_end is not None and pause_end <= start:
            continue
        if pause_start >= due:
            break
        if pause_end is None:
            return None
        # The clock stood from the pause's start (or its own) to the pause's end.
        due = hours.add(due, hours.between(max(pause_start, start), pause_end))
    return due


@dataclass
class Clocks:
    """Field values derived for a ticket: what recompute_clocks writes."""

    policy_id: int | None
    due: dict[Clock, datetime | None]
    warn: dict[Clock, datetime | None]
    waiting_since: datetime | None
    pauses: list[Pause]
    # Bits to keep of sla_warned / sla_breached (a finished next-response cycle is forgotten).
    keep: int = ALL_BITS
    check_at: datetime | None = None
    rules: Rules | None = field(default=None, repr=False)


def compute_clocks(ticket: Ticket, at: datetime, policies: list[Rules]) -> Clocks:
    """The ticket's clocks as of `at`, from its own facts: nothing is written."""
    # Pauses: a spell begins when the ticket becomes pending or on hold and ends when it leaves.
    pauses = _load_pauses(ticket.sla_pauses)
    paused = ticket.status in PAUSING and ticket.merged_into_id is None
    if paused and not (pauses and pauses[-1][1] is None):
        pauses.append((at, None))
    elif not paused and pauses and pauses[-1][1] is None:
        pauses[-1] = (pauses[-1][0], at)
    if len(pauses) > MAX_PAUSES:
        pauses = _squash(pauses)

    # The oldest customer message no agent has answered.
    customer_at, agent_at = ticket.last_customer_message_at, ticket.last_agent_message_at
    waiting = customer_at is not None and (agent_at is None or customer_at > agent_at)
    waiting_since = ticket.sla_waiting_since
    keep = ALL_BITS
    if not waiting:
        waiting_since = None
    elif waiting_since is None or (agent_at is not None and waiting_since <= agent_at):
        waiting_since = customer_at
    if waiting_since != ticket.sla_waiting_since:
        keep &= ~int(Clock.NEXT_RESPONSE)  # a new cycle of the next-response clock

    is_open = ticket.status in OPEN_STATUSES and ticket.merged_into_id is None
    rules = match_policy(ticket, policies) if is_open else None
    # A finished ticket keeps the policy it ran under; a reopened one is matched afresh.
    policy_id = rules.id if rules else (None if is_open else ticket.sla_policy_id)
    starts: dict[Clock, datetime | None] = {
        Clock.FIRST_RESPONSE: ticket.created_at if ticket.first_response_at is None else None,
        Clock.NEXT_RESPONSE: waiting_since if ticket.first_response_at is not None else None,
        Clock.RESOLUTION: ticket.created_at,
    }
    due: dict[Clock, datetime | None] = dict.fromkeys(CLOCKS)
    warn: dict[Clock, datetime | None] = dict.fromkeys(CLOCKS)
    if rules is not None and is_open:
        for clock in CLOCKS:
            start, target = starts[clock], rules.targets.get(clock)
            if start is None or target is None:
                continue
            due[clock] = due_time(rules.hours, start, target, pauses)
            warn[clock] = due_time(rules.hours, start, target * rules.warn_share, pauses)
    clocks = Clocks(
        policy_id=policy_id,
        due=due,
        warn=warn,
        waiting_since=waiting_since,
        pauses=pauses,
        keep=keep,
        rules=rules,
    )
    clocks.check_at = next_check(clocks, ticket.sla_warned & keep, ticket.sla_breached & keep)
    return clocks


def next_check(clocks: Clocks, warned: int, breached: int) -> datetime | None:
    """The next warning or due time not acted on yet: when the sweep looks again."""
    return min(
        (
            moment
            for clock in CLOCKS
            for moment in (
                clocks.warn[clock] if not warned & clock else None,
                clocks.due[clock] if not breached & clock else None,
            )
            if moment is not None
        ),
        default=None,
    )


def _squash(pauses: list[Pause]) -> list[Pause]:
    """Keep the latest spells; the oldest become one spell ending where they ended.

    Only used past MAX_PAUSES: it may lengthen an old pause by the open time
    between the squashed spells, in the ticket's favour.
    """
    old, recent = pauses[: -MAX_PAUSES + 1], pauses[-MAX_PAUSES + 1 :]
    return [(old[0][0], old[-1][1]), *recent]


def _fields(clocks: Clocks) -> dict[str, Any]:
    return {
        "sla_policy_id": clocks.policy_id,
        "first_response_due_at": clocks.due[Clock.FIRST_RESPONSE],
        "next_response_due_at": clocks.due[Clock.NEXT_RESPONSE],
        "resolution_due_at": clocks.due[Clock.RESOLUTION],
        "sla_waiting_since": clocks.waiting_since,
        "sla_pauses": _dump_pauses(clocks.pauses),
        "sla_check_at": clocks.check_at,
    }


def recompute_clocks(
    *, ticket: Ticket, at: datetime | None = None, policies: list[Rules] | None = None
) -> Ticket:
    """Re-derive the ticket's SLA fields after an event; at most one UPDATE, none if unchanged.

    Called inside the transaction that changed the ticket (and saved it), so due
    times never disagree with the ticket. The warned/breached bits are only ever
    cleared here, with an expression on the stored value, so a sweep that set a
    bit meanwhile is never undone.
    """
    at = at or timezone.now()
    if policies is None:
        policies = active_policies()
    if not policies and ticket.sla_policy_id is None and ticket.sla_check_at is None:
        if not any(getattr(ticket, name) for name in DUE_FIELDS.values()):
            return ticket  # no SLA anywhere: nothing to keep
    clocks = compute_clocks(ticket, at, policies)
    changed = {
        name: value for name, value in _fields(clocks).items() if getattr(ticket, name) != value
    }
    bits_cleared = clocks.keep != ALL_BITS and (
        ticket.sla_warned & ~clocks.keep or ticket.sla_breached & ~clocks.keep
    )
    if not changed and not bits_cleared:
        return ticket
    update: dict[str, Any] = dict(changed)
    if bits_cleared:
        update["sla_warned"] = F("sla_warned").bitand(clocks.keep)
        update["sla_breached"] = F("sla_breached").bitand(clocks.keep)
        ticket.sla_warned &= clocks.keep
        ticket.sla_breached &= clocks.keep
    Ticket.objects.filter(pk=ticket.pk).update(**update)
    for name, value in changed.items():
        setattr(ticket, name, value)
    return ticket


def recompute_policy_tickets(*, policy_id: int, batch: int = 500) -> int:
    """Recompute the open tickets under a policy (edited, retired); returns how many were seen."""
    return _recompute_in_batches(Q(sla_policy_id=policy_id, status__in=OPEN_STATUSES), batch=batch)


def recompute_open_tickets(*, batch: int = 500) -> int:
    """Recompute every open ticket (a policy was created or its conditions changed).

    A ticket that has an event meanwhile is recomputed by that event anyway.
    """
    return _recompute_in_batches(LISTED_OPEN, batch=batch)


def _recompute_in_batches(condition: Q, *, batch: int) -> int:
    """Recompute the tickets matching `condition`, in batches by id, each its own short
    transaction, so a long run blocks no ticket for long. Returns how many were seen."""
    seen, last_id = 0, 0
    while True:
        policies = active_policies()
        with transaction.atomic():
            tickets = list(
                Ticket.objects.select_for_update()
                .filter(condition, pk__gt=last_id)
                .order_by("pk")[:batch]
            )
            for ticket in tickets:
                recompute_clocks(ticket=ticket, policies=policies)
        if not tickets:
            return seen
        seen += len(tickets)
        last_id = tickets[-1].pk


# --- Policies ----------------------------------------------------------------------


class PolicyError(ValueError):
    """A policy that cannot be saved; the message says why, for the manager editing it."""


def save_policy(
    *,
    policy: SlaPolicy | None = None,
    name: str,
    position: int = 0,
    is_active: bool = True,
    inbox_ids: Iterable[int] = (),
    channels: Iterable[str] = (),
    priorities: Iterable[int] = (),
    customer_tags: Iterable[str] = (),
    first_response_minutes: int | None = None,
    next_response_minutes: int | None = None,
    resolution_minutes: int | None = None,
    warn_percent: int = 80,
    calendar: dict | None = None,
    escalate_priority: int | None = None,
    escalate_team: Team | None = None,
    notify_by_email: bool = False,
) -> SlaPolicy:
    """Create or change a policy. An invalid calendar raises CalendarError saying what is wrong.

    Open tickets are matched again by the task tickets.tasks.sla_recompute_open,
    queued after the change commits.
    """
    name = name.strip()
    if not name:
        raise PolicyError(_("A policy needs a name."))
    if not any((first_response_minutes, next_response_minutes, resolution_minutes)):
        raise PolicyError(
            _("Set at least one target: first response, next response or resolution.")
        )
    if not 1 <= warn_percent <= 100:
        raise PolicyError(_("Warn at a share between 1 and 100 percent of the target."))
    if calendar:
        parse_calendar(calendar)  # raises CalendarError with the reason
    policy = policy or SlaPolicy()
    policy.name = name[:100]
    policy.position = position
    policy.is_active = is_active
    policy.inbox_ids = sorted({int(i) for i in inbox_ids})
    policy.channels = sorted(set(channels))
    policy.priorities = sorted({int(p) for p in priorities})
    policy.customer_tags = sorted({t for t in customer_tags if t})
    policy.first_response_minutes = first_response_minutes or None
    policy.next_response_minutes = next_response_minutes or None
    policy.resolution_minutes = resolution_minutes or None
    policy.warn_percent = warn_percent
    policy.calendar = calendar or {}
    policy.escalate_priority = escalate_priority or None
    policy.escalate_team = escalate_team
    policy.notify_by_email = notify_by_email
    policy.updated_at = timezone.now()
    policy.save()
    return policy


def retire_policy(*, policy_id: int) -> None:
    """Stop a policy and move its tickets to whichever policy matches them now, then delete it."""
    SlaPolicy.objects.filter(pk=policy_id).update(is_active=False, updated_at=timezone.now())
    recompute_policy_tickets(policy_id=policy_id)
    SlaPolicy.objects.filter(pk=policy_id, is_active=False).delete()


# --- The sweep ---------------------------------------------------------------------


@dataclass(frozen=True)
class SweepResult:
    tickets: int
    warned: int
    breached: int
    escalated: int


def sweep_sla(*, at: datetime | None = None, limit: int = SWEEP_BATCH) -> SweepResult:
    """Warn, mark breaches and escalate on the tickets whose next SLA check has come.

    One transaction: the due tickets by a range scan on ticket_sla_check (rows
    another transaction holds are skipped, the next run takes them), the bits and
    timeline events written together, notifications told after commit
    (SlaWarned / SlaBreached, TicketChanged for an escalation). Run again, it
    finds nothing new to do: the bits say what was done.
    """
    at = at or timezone.now()
    policies = active_policies()
    by_id = {rules.id: rules for rules in policies}
    warned = breached = escalated = 0
    with transaction.atomic():
        tickets = list(due_tickets(at=at, limit=limit))
        timeline: list[TimelineEvent] = []
        notices: list[SlaWarned | SlaBreached] = []
        changes: list[TicketChanged] = []
        dirty: list[Ticket] = []
        for ticket in tickets:
            clocks = compute_clocks(ticket, at, policies)
            rules = clocks.rules or by_id.get(ticket.sla_policy_id or 0)
            ticket.sla_warned &= clocks.keep
            ticket.sla_breached &= clocks.keep
            new_breaches = 0
            for clock in CLOCKS:
                due, warn = clocks.due[clock], clocks.warn[clock]
                if due is not None and due <= at and not ticket.sla_breached & clock:
                    ticket.sla_breached |= clock
                    ticket.sla_warned |= clock  # too late to warn
                    new_breaches |= clock
                    breached += 1
                    timeline.append(_event(ticket, EventKind.SLA_BREACHED, clock, due, at))
                    notices.append(_notice(SlaBreached, ticket, clock, due, rules))
                elif warn is not None and warn <= at and not ticket.sla_warned & clock:
                    ticket.sla_warned |= clock
                    warned += 1
                    timeline.append(_event(ticket, EventKind.SLA_WARNING, clock, due, at))
                    notices.append(_notice(SlaWarned, ticket, clock, due, rules))
            if new_breaches and rules is not None:
                change = _escalate(ticket, rules, at)
                if change:
                    escalated += 1
                    timeline.append(
                        TimelineEvent(
                            customer_id=ticket.customer_id,
                            ticket=ticket,
                            kind=EventKind.SLA_ESCALATED,
                            data=change,
                            created_at=at,
                        )
                    )
                    changes.append(
                        TicketChanged(
                            ticket_id=ticket.pk,
                            customer_id=ticket.customer_id,
                            changes={k: v["to"] for k, v in change.items()},
                        )
                    )
                    # A raised priority may fall under another policy: derive again.
                    clocks = compute_clocks(ticket, at, policies)
                    ticket.sla_warned &= clocks.keep
                    ticket.sla_breached &= clocks.keep
            clocks.check_at = next_check(clocks, ticket.sla_warned, ticket.sla_breached)
            for name, value in _fields(clocks).items():
                setattr(ticket, name, value)
            dirty.append(ticket)
        if dirty:
            _write_swept(dirty)
        if timeline:
            TimelineEvent.objects.bulk_create(timeline, batch_size=500)
        for event in [*notices, *changes]:
            emit(event)
    return SweepResult(tickets=len(tickets), warned=warned, breached=breached, escalated=escalated)


def due_tickets(*, at: datetime, limit: int) -> QuerySet[Ticket]:
    """The tickets whose next SLA check has come, oldest first, locked (others' locks skipped).

    A range scan on the partial index ticket_sla_check: tickets with nothing
    due have no entry before `at`, so they cost nothing however many there are.
    """
    return (
        Ticket.objects.select_for_update(skip_locked=True, of=("self",))
        .filter(sla_check_at__lte=at)
        .select_related("team")
        .order_by("sla_check_at")[:limit]
    )


# What the sweep writes back: (column, PostgreSQL array type).
_SWEPT_COLUMNS = (
    ("sla_policy_id", "bigint"),
    ("first_response_due_at", "timestamptz"),
    ("next_response_due_at", "timestamptz"),
    ("resolution_due_at", "timestamptz"),
    ("sla_waiting_since", "timestamptz"),
    ("sla_pauses", "jsonb"),
    ("sla_check_at", "timestamptz"),
    ("sla_warned", "smallint"),
    ("sla_breached", "smallint"),
    ("priority", "smallint"),
    ("team_id", "bigint"),
    ("assignee_id", "integer"),
    ("updated_at", "timestamptz"),
)


def _write_swept(tickets: list[Ticket]) -> None:
    """Write the swept tickets back in one statement.

    On PostgreSQL an UPDATE ... FROM unnest(arrays): one parameter per column
    whatever the batch size (Django's bulk_update builds a CASE per row and
    column, seconds of Python for a thousand tickets). Elsewhere bulk_update.
    """
    if connection.vendor != "postgresql":
        names = [c.removesuffix("_id") if c.endswith("_id") else c for c, _t in _SWEPT_COLUMNS]
        Ticket.objects.bulk_update(tickets, names, batch_size=500)
        return
    columns = [("id", "bigint"), *_SWEPT_COLUMNS]
    values: list[list[Any]] = [[] for _column in columns]
    for ticket in tickets:
        for index, (column, _type) in enumerate(columns):
            value = getattr(ticket, "pk" if column == "id" else column)
            values[index].append(json.dumps(value) if column == "sla_pauses" else value)
    table = Ticket._meta.db_table
    assignments = ", ".join(f"{column} = v.{column}" for column, _type in _SWEPT_COLUMNS)
    arrays = ", ".join(f"%s::{kind}[]" for _column, kind in columns)
    names = ", ".join(column for column, _type in columns)
    with connection.cursor() as cursor:
        cursor.execute(
            # Column and table names are our own constants, never input.
            f"UPDATE {table} AS t SET {assignments} "  # noqa: S608
            f"FROM unnest({arrays}) AS v({names}) WHERE t.id = v.id",
            values,
        )


def _event(ticket: Ticket, kind: str, clock: Clock, due: datetime | None, at: datetime):
    return TimelineEvent(
        customer_id=ticket.customer_id,
        ticket=ticket,
        kind=kind,
        data={"clock": CLOCK_NAMES[clock], "due": due.isoformat() if due else None},
        created_at=at,
    )


def _notice(kind: type, ticket: Ticket, clock: Clock, due: datetime | None, rules: Rules | None):
    return kind(
        ticket_id=ticket.pk,
        customer_id=ticket.customer_id,
        clock=CLOCK_NAMES[clock],
        due_at=due,
        assignee_id=ticket.assignee_id,
        team_lead_id=ticket.team.lead_id if ticket.team else None,
        notify_by_email=bool(rules and rules.notify_by_email),
    )


def _escalate(ticket: Ticket, rules: Rules, at: datetime) -> dict[str, dict[str, Any]]:
    """Apply the policy's escalation to the ticket in memory; the changes made, for the timeline."""
    change: dict[str, dict[str, Any]] = {}
    if rules.escalate_priority and ticket.priority < rules.escalate_priority:
        change["priority"] = {"from": ticket.priority, "to": rules.escalate_priority}
        ticket.priority = rules.escalate_priority
    if rules.escalate_team_id and ticket.team_id != rules.escalate_team_id:
        team = Team.objects.filter(pk=rules.escalate_team_id).first()
        if team is not None:
            change["team"] = {"from": ticket.team.name if ticket.team else None, "to": team.name}
            ticket.team = team
            # The ticket goes to the team's queue unless its agent is one of them.
            if (
                ticket.assignee_id
                and not get_user_model()
                .objects.filter(pk=ticket.assignee_id, helpdesk_teams=team)
                .exists()
            ):
                change["assignee"] = {"from": ticket.assignee_id, "to": None}
                ticket.assignee = None
    if change:
        ticket.updated_at = at
    return change
