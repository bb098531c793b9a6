"""Domain events: what happened to tickets, told to whoever listens.

tickets/ knows no channel, survey or UI. Those subscribe here (in their
AppConfig.ready) and react after the transaction that caused the event has
committed, so a listener never sees a row that may still roll back.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from django.db import transaction

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MessageReceived:
    message_id: int
    ticket_id: int
    customer_id: int
    inbox_id: int
    channel: str
    ticket_created: bool
    reopened: bool


@dataclass(frozen=True)
class ReplyRecorded:
    """An agent's public reply waits in the outbox for its channel to send it."""

    message_id: int
    ticket_id: int
    customer_id: int
    channel: str


@dataclass(frozen=True)
class NoteAdded:
    message_id: int
    ticket_id: int
    customer_id: int


@dataclass(frozen=True)
class TicketChanged:
    ticket_id: int
    customer_id: int
    changes: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class DeliveryUpdated:
    message_id: int
    ticket_id: int
    customer_id: int
    state: str


@dataclass(frozen=True)
class CustomersMerged:
    source_id: int
    target_id: int


@dataclass(frozen=True)
class SlaWarned:
    """A share of an SLA target has run (tickets/sla.py); told once per clock and cycle."""

    ticket_id: int
    customer_id: int
    clock: str  # first_response | next_response | resolution
    due_at: datetime | None
    assignee_id: int | None
    team_lead_id: int | None
    notify_by_email: bool = False


@dataclass(frozen=True)
class SlaBreached:
    """An SLA target was missed (tickets/sla.py); told once per clock and cycle."""

    ticket_id: int
    customer_id: int
    clock: str
    due_at: datetime | None
    assignee_id: int | None
    team_lead_id: int | None
    notify_by_email: bool = False


Event = (
    MessageReceived
    | ReplyRecorded
    | NoteAdded
    | TicketChanged
    | DeliveryUpdated
    | CustomersMerged
    | SlaWarned
    | SlaBreached
)
E = TypeVar("E")
Handler = Callable[[Any], None]

_handlers: dict[type, list[Handler]] = defaultdict(list)


def subscribe(event_type: type[E]) -> Callable[[Callable[[E], None]], Callable[[E], None]]:
    """Register a function to be called with every committed event of a type."""

    def register(handler: Callable[[E], None]) -> Callable[[E], None]:
        if handler not in _handlers[event_type]:
            _handlers[event_type].append(handler)
        return handler

    return register


def emit(event: Event) -> None:
    """Deliver the event to its subscribers once the current transaction commits.

    Outside a transaction it is delivered at once. A failing subscriber is
    logged and does not keep the others from hearing the event: durable
    work is re-derived from the database by sweepers, never lost with it.
    """
    transaction.on_commit(lambda: _dispatch(event))


def _dispatch(event: Event) -> None:
    for handler in list(_handlers[type(event)]):
        try:
            handler(event)
        except Exception:
            log.exception(
                "subscriber %s failed on %r", getattr(handler, "__name__", handler), event
            )
