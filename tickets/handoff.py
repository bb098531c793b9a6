"""Self-service first, a person on request: a chat's way from articles to an agent.

When a visitor's first question matches help-centre articles, the chat is held
(Ticket.awaiting_handoff) while the visitor reads them: it waits in the inbox
but is not given to an agent. The visitor then either says an article answered
them (the ticket is solved) or asks for a person, and the chat is routed.
Writing again while held counts as asking for a person: nobody is left in a
loop of suggestions.

Each step is a SELF_SERVICE timeline event whose data carries the articles as
{"id", "title", "opened"}, so the agent who takes the chat sees what the
visitor has already read and the visitor never repeats themselves. tickets/
knows no knowledge base: the caller passes the articles.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import transaction
from django.utils import timezone

from .events import TicketChanged, emit
from .models import Channel, EventKind, Status, Ticket, TimelineEvent

# Reasons a chat was handed over, as stored in the event.
BUTTON = "button"  # the visitor pressed "Talk to a person"
MESSAGE = "message"  # the visitor wrote again instead of reading


def _event(ticket: Ticket, data: dict[str, Any], at) -> TimelineEvent:
    return TimelineEvent(
        customer_id=ticket.customer_id,
        ticket=ticket,
        kind=EventKind.SELF_SERVICE,
        created_at=at,
        data=data,
    )


def hold_for_self_service(
    *, ticket_id: int, message_id: int, articles: Sequence[dict[str, Any]]
) -> bool:
    """Offer `articles` for the visitor's question before a person is asked.

    Only a new, unassigned chat is held; False (and nothing written) otherwise,
    and the caller routes the chat as usual.
    """
    if not articles:
        return False
    now = timezone.now()
    with transaction.atomic():
        ticket = Ticket.objects.select_for_update().filter(pk=ticket_id).first()
        if ticket is None or ticket.assignee_id is not None or ticket.status != Status.NEW:
            return False
        ticket.awaiting_handoff = True
        ticket.save(update_fields=["awaiting_handoff"])
        data = {"action": "suggested", "message": message_id, "articles": list(articles)}
        _event(ticket, data, now).save()
        emit(TicketChanged(ticket_id=ticket.pk, customer_id=ticket.customer_id))
    return True


def hand_over(*, ticket_id: int, reason: str, articles: Sequence[dict[str, Any]] = ()) -> bool:
    """The visitor wants a person. Returns True when the chat was held and now needs routing.

    The articles the visitor saw are recorded either way (a visitor may ask for a
    person before writing, with articles seen while typing); a chat neither held
    nor with articles to record changes nothing.
    """
    now = timezone.now()
    with transaction.atomic():
        ticket = Ticket.objects.select_for_update().filter(pk=ticket_id).first()
        if ticket is None:
            return False
        held = ticket.awaiting_handoff
        if not held and not articles:
            return False
        if held:
            ticket.awaiting_handoff = False
            ticket.save(update_fields=["awaiting_handoff"])
        data = {"action": "handoff", "reason": reason, "articles": list(articles)}
        _event(ticket, data, now).save()
        emit(TicketChanged(ticket_id=ticket.pk, customer_id=ticket.customer_id))
    return held


def record_self_served(*, ticket_id: int, articles: Sequence[dict[str, Any]]) -> bool:
    """The visitor says an article answered them: the held chat is solved, by nobody.

    False (and nothing written) for a chat that is not held: one an agent is
    already on is theirs to close.
    """
    now = timezone.now()
    with transaction.atomic():
        ticket = Ticket.objects.select_for_update().filter(pk=ticket_id).first()
        if ticket is None or not ticket.awaiting_handoff:
            return False
        old_status = ticket.status
        ticket.awaiting_handoff = False
        ticket.set_status(Status.SOLVED, now)
        ticket.save(update_fields=["awaiting_handoff", "status", "solved_at", "updated_at"])
        TimelineEvent.objects.bulk_create(
            [
                _event(ticket, {"action": "answered", "articles": list(articles)}, now),
                TimelineEvent(
                    customer_id=ticket.customer_id,
                    ticket=ticket,
                    kind=EventKind.STATUS,
                    created_at=now,
                    data={"from": old_status, "to": Status.SOLVED},
                ),
            ]
        )
        emit(
            TicketChanged(
                ticket_id=ticket.pk,
                customer_id=ticket.customer_id,
                changes={"status": Status.SOLVED},
            )
        )
    return True


def continue_by_email(*, ticket_id: int, address: str, reachable: bool) -> None:
    """A visitor nobody could answer live left an email address for the reply.

    When the customer can be reached there (`reachable`: the address is one of
    their identities), the conversation moves to email: the ticket's channel
    becomes email, so the agent's reply goes there by default and the answer
    threads back into this ticket. Either way the timeline says what the visitor
    asked for; an address that belongs to someone else waits for an agent to
    confirm the claim.
    """
    now = timezone.now()
    with transaction.atomic():
        ticket = Ticket.objects.select_for_update().filter(pk=ticket_id).first()
        if ticket is None:
            return
        if reachable and ticket.last_channel != Channel.EMAIL:
            ticket.last_channel = Channel.EMAIL
            ticket.updated_at = now
            ticket.save(update_fields=["last_channel", "updated_at"])
        TimelineEvent.objects.create(
            customer_id=ticket.customer_id,
            ticket=ticket,
            kind=EventKind.CONTINUED_BY_EMAIL,
            created_at=now,
            data={"address": address, "reachable": reachable},
        )
        emit(TicketChanged(ticket_id=ticket.pk, customer_id=ticket.customer_id))
