"""Agents change a ticket's status, priority, assignee, team and tags."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from .events import TicketChanged, emit
from .models import EventKind, Priority, Status, Tag, Team, Ticket, TimelineEvent
from .sla import recompute_clocks

UNSET: Any = object()
MAX_TAGS = 20


class ChangeError(Exception):
    """A change that cannot be made; the message says why, in the request's language."""


def update_ticket(
    *,
    ticket: Ticket,
    actor: AbstractBaseUser | None,
    status: str | None = None,
    priority: int | None = None,
    assignee: Any = UNSET,
    team: Any = UNSET,
    tags: list[str] | None = None,
) -> Ticket:
    """Apply the given changes at once, each recorded on the timeline. Nothing else is touched."""
    if status is not None and status not in Status.values:
        raise ChangeError(_("Unknown status: %(status)s.") % {"status": status})
    if priority is not None and priority not in Priority.values:
        raise ChangeError(_("Unknown priority: %(priority)s.") % {"priority": priority})
    if assignee is not UNSET and assignee is not None:
        if not get_user_model().objects.filter(pk=assignee.pk, is_active=True).exists():
            raise ChangeError(_("The assignee is not an active agent."))
    if tags is not None:
        tags = sorted({normalize_tag(t) for t in tags if normalize_tag(t)})
        if len(tags) > MAX_TAGS:
            raise ChangeError(_("A ticket can have at most %(max)s tags.") % {"max": MAX_TAGS})
    if team is not UNSET and team is not None and not isinstance(team, Team):
        raise ChangeError(_("Unknown team."))

    now = timezone.now()
    with transaction.atomic():
        locked = Ticket.objects.select_for_update().get(pk=ticket.pk)
        events: list[TimelineEvent] = []
        changes: dict[str, Any] = {}

        def record(kind: str, field: str, old: Any, new: Any) -> None:
            changes[field] = new
            events.append(
                TimelineEvent(
                    customer_id=locked.customer_id,
                    ticket=locked,
                    kind=kind,
                    actor=actor,
                    data={"from": old, "to": new},
                    created_at=now,
                )
            )

        if status is not None and status != locked.status:
            record(EventKind.STATUS, "status", locked.status, status)
            locked.set_status(status, now)
        if priority is not None and priority != locked.priority:
            record(EventKind.PRIORITY, "priority", locked.priority, priority)
            locked.priority = priority
        if assignee is not UNSET and (assignee.pk if assignee else None) != locked.assignee_id:
            old = locked.assignee.get_username() if locked.assignee else None
            record(
                EventKind.ASSIGNEE, "assignee", old, assignee.get_username() if assignee else None
            )
            locked.assignee = assignee
        if team is not UNSET and (team.pk if team else None) != locked.team_id:
            record(
                EventKind.TEAM,
                "team",
                locked.team.name if locked.team else None,
                team.name if team else None,
            )
            locked.team = team
        if tags is not None:
            current = sorted(locked.tags.values_list("name", flat=True))
            if current != tags:
                record(EventKind.TAGS, "tags", current, tags)
                for name in tags:
                    Tag.objects.get_or_create(name=name)
                locked.tags.set(Tag.objects.filter(name__in=tags))
        if not events:
            return locked
        locked.updated_at = now
        locked.save()
        recompute_clocks(ticket=locked, at=now)
        TimelineEvent.objects.bulk_create(events)
        emit(TicketChanged(ticket_id=locked.pk, customer_id=locked.customer_id, changes=changes))
    return locked


def normalize_tag(name: str) -> str:
    return "-".join(name.strip().lower().split())[:50]
