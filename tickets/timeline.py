"""One customer's history across every channel and ticket, a page at a time."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Prefetch, Q, QuerySet

from .access import sees_everything, team_ids
from .models import Attachment, TimelineEvent

PAGE_SIZE = 50


@dataclass(frozen=True)
class TimelinePage:
    events: list[TimelineEvent]  # newest first
    next_before: int | None  # pass as `before` for the next (older) page


def timeline_events(*, customer_id: int, user=None) -> QuerySet[TimelineEvent]:
    events = TimelineEvent.objects.filter(customer_id=customer_id)
    if user is not None and not sees_everything(user):
        events = events.filter(
            Q(ticket__isnull=True)
            | Q(ticket__team_id__in=team_ids(user))
            | Q(ticket__assignee_id=user.pk)
        )
    return events.select_related("message", "message__author", "ticket", "actor").prefetch_related(
        Prefetch("message__attachments", queryset=Attachment.objects.order_by("id"))
    )


def timeline_page(
    *, customer_id: int, user=None, before: int | None = None, limit: int = PAGE_SIZE
) -> TimelinePage:
    """Newest events first; keyset-paginated on id so every page costs the same."""
    events = timeline_events(customer_id=customer_id, user=user)
    if before is not None:
        events = events.filter(id__lt=before)
    rows = list(events.order_by("-id")[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    return TimelinePage(events=rows, next_before=rows[-1].pk if more and rows else None)
