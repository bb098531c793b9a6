"""Ticket events pushed to agents' browsers.

Pushes carry ids only; the browser fetches the partial it needs through a
normal view that checks permissions, so nothing leaks to an agent who may
not see the ticket.
"""

from helpdesk.live import publish
from tickets.events import (
    DeliveryUpdated,
    MessageReceived,
    NoteAdded,
    ReplyRecorded,
    TicketChanged,
    subscribe,
)

INBOX_GROUP = "agents.inbox"


def ticket_group(ticket_id: int) -> str:
    return f"agents.ticket.{ticket_id}"


def _push(ticket_id: int, kind: str) -> None:
    notice = {"type": "ticket.notice", "ticket": ticket_id, "kind": kind}
    publish(ticket_group(ticket_id), notice)
    publish(INBOX_GROUP, notice)


@subscribe(MessageReceived)
def push_message(event: MessageReceived) -> None:
    _push(event.ticket_id, "message")


@subscribe(ReplyRecorded)
def push_reply(event: ReplyRecorded) -> None:
    _push(event.ticket_id, "reply")


@subscribe(NoteAdded)
def push_note(event: NoteAdded) -> None:
    _push(event.ticket_id, "note")


@subscribe(TicketChanged)
def push_change(event: TicketChanged) -> None:
    _push(event.ticket_id, "changed")


@subscribe(DeliveryUpdated)
def push_delivery(event: DeliveryUpdated) -> None:
    publish(
        ticket_group(event.ticket_id),
        {
            "type": "ticket.notice",
            "ticket": event.ticket_id,
            "kind": "delivery",
            "message": event.message_id,
            "state": event.state,
        },
    )
