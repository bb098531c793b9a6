"""The agent inbox list: views, filters, sort and keyset pagination.

Every page is an index range scan ending in the sort key, so its cost does
not grow with the number of tickets, and the query count does not grow with
the page size (tags come in one extra query for the whole page).
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Prefetch, Q, QuerySet
from django.utils.dateparse import parse_datetime

from .access import team_ids, visible_tickets
from .models import OPEN_STATUSES, Identity, Tag, Ticket

VIEWS = ("mine", "unassigned", "teams", "all")
# name -> ordering (each ends in a unique key, for stable keyset pages)
SORTS: dict[str, tuple[str, ...]] = {
    "recent": ("-last_activity_at", "-id"),
    "waiting": ("last_activity_at", "id"),
    "newest": ("-created_at", "-id"),
    "priority": ("-priority", "-last_activity_at", "-id"),
}
PAGE_SIZE = 25
MAX_PAGE_SIZE = 100


@dataclass(frozen=True)
class TicketFilters:
    view: str = "all"
    statuses: tuple[str, ...] = tuple(OPEN_STATUSES)
    channel: str = ""
    priority: int | None = None
    tag: str = ""
    inbox_id: int | None = None
    q: str = ""
    sort: str = "recent"


@dataclass(frozen=True)
class TicketPage:
    tickets: list[Ticket]
    next_cursor: str | None
    filters: TicketFilters = field(default_factory=TicketFilters)


def filtered_tickets(user, filters: TicketFilters) -> QuerySet[Ticket]:
    tickets = visible_tickets(user).filter(merged_into__isnull=True)
    if filters.view == "mine":
        tickets = tickets.filter(assignee_id=user.pk)
    elif filters.view == "unassigned":
        tickets = tickets.filter(assignee__isnull=True)
    elif filters.view == "teams":
        tickets = tickets.filter(team_id__in=team_ids(user))
    if filters.statuses:
        tickets = tickets.filter(status__in=filters.statuses)
    if filters.channel:
        tickets = tickets.filter(last_channel=filters.channel)
    if filters.priority:
        tickets = tickets.filter(priority=filters.priority)
    if filters.inbox_id:
        tickets = tickets.filter(inbox_id=filters.inbox_id)
    if filters.tag:
        tickets = tickets.filter(tags__name=filters.tag)
    if filters.q:
        tickets = tickets.filter(_search(filters.q))
    return tickets


def _search(q: str) -> Q:
    q = q.strip()
    number = q.lstrip("#")
    if number.isdigit():
        return Q(pk=int(number))
    by_identity = Identity.objects.filter(value__icontains=q).values("customer_id")
    return Q(subject__icontains=q) | Q(customer__name__icontains=q) | Q(customer_id__in=by_identity)


def list_tickets(
    user, filters: TicketFilters, *, cursor: str | None = None, limit: int = PAGE_SIZE
) -> TicketPage:
    """One page of the inbox: 2 queries (tickets with customer, assignee, team; tags)."""
    limit = max(1, min(limit, MAX_PAGE_SIZE))
    ordering = SORTS.get(filters.sort, SORTS["recent"])
    tickets = filtered_tickets(user, filters)
    if cursor:
        after = _after(ordering, decode_cursor(cursor, len(ordering)))
        if after is not None:
            tickets = tickets.filter(after)
    rows = list(
        tickets.select_related("customer", "assignee", "team")
        .prefetch_related(Prefetch("tags", queryset=Tag.objects.only("id", "name")))
        .order_by(*ordering)[: limit + 1]
    )
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = encode_cursor(rows[-1], ordering) if more and rows else None
    return TicketPage(tickets=rows, next_cursor=next_cursor, filters=filters)


def encode_cursor(ticket: Ticket, ordering: tuple[str, ...]) -> str:
    values = []
    for key in ordering:
        value = getattr(ticket, key.lstrip("-"))
        values.append(value.isoformat() if isinstance(value, datetime) else value)
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, size: int) -> list | None:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(values, list) or len(values) != size:
        return None
    return values


def _after(ordering: tuple[str, ...], values: list | None) -> Q | None:
    """Rows strictly after `values` in `ordering` (lexicographic keyset condition)."""
    if values is None:
        return None
    parsed = []
    for key, value in zip(ordering, values, strict=True):
        name = key.lstrip("-")
        if name.endswith("_at"):
            value = parse_datetime(value) if isinstance(value, str) else None
            if value is None:
                return None
        elif not isinstance(value, int):
            return None
        parsed.append((name, "lt" if key.startswith("-") else "gt", value))
    condition = Q()
    for i, (name, op, value) in enumerate(parsed):
        equal_before = Q(**{n: v for n, _, v in parsed[:i]})
        condition |= equal_before & Q(**{f"{name}__{op}": value})
    return condition
