"""Automatic assignment of new chats to the least-loaded available agent.

tickets/ knows nothing of presence: the caller (channels_in, on a new chat) passes
the agents who may take the chat now, each with their limit, and this module
picks one and assigns through update_ticket, so the timeline shows it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Count

from .changes import update_ticket
from .models import OPEN_STATUSES, Channel, Ticket

NEVER = datetime.min.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Candidate:
    """An agent who may take a chat now: their limit and when they were last given a ticket."""

    user_id: int
    max_chats: int
    last_assigned_at: datetime | None = None


def open_chat_counts(user_ids: Sequence[int]) -> dict[int, int]:
    """Open chat tickets assigned to each of these agents (merged-away tickets do not count)."""
    rows = (
        Ticket.objects.filter(
            assignee_id__in=list(user_ids),
            status__in=OPEN_STATUSES,
            inbox__channel=Channel.WIDGET,
            merged_into__isnull=True,
        )
        .values("assignee_id")
        .annotate(count=Count("id"))
    )
    return {row["assignee_id"]: row["count"] for row in rows}


def assign_chat(ticket_id: int, *, candidates: Sequence[Candidate]) -> AbstractBaseUser | None:
    """Assign a still-unassigned chat ticket to the least-loaded candidate below their limit.

    Ties go to whoever waited longest since their last assignment (never assigned
    first). Returns the new assignee, or None when the ticket is gone, already
    assigned, or nobody can take it (it then waits in the team's queue).

    Idempotent and safe against races: the ticket row is locked and re-read, and
    the candidates' user rows are locked (in id order) while their chats are
    counted, so two chats arriving at once cannot both fill an agent's last slot.
    """
    if not candidates:
        return None
    by_user = {c.user_id: c for c in candidates}
    with transaction.atomic():
        ticket = Ticket.objects.select_for_update().filter(pk=ticket_id).first()
        if ticket is None or ticket.assignee_id is not None or not ticket.is_open:
            return None
        users = {
            user.pk: user
            for user in get_user_model()
            .objects.select_for_update()
            .filter(pk__in=list(by_user), is_active=True)
            .order_by("pk")
        }
        loads = open_chat_counts(list(users))
        free = [
            by_user[user_id]
            for user_id in users
            if loads.get(user_id, 0) < by_user[user_id].max_chats
        ]
        if not free:
            return None
        chosen = min(
            free,
            key=lambda c: (
                loads.get(c.user_id, 0),
                c.last_assigned_at is not None,
                c.last_assigned_at or NEVER,
                c.user_id,
            ),
        )
        assignee = users[chosen.user_id]
        update_ticket(ticket=ticket, actor=None, assignee=assignee)
    return assignee
