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


def user_group(user_id: int) -> str:
    """Every agent socket of one agent: chat notices, presence re-checks."""
    return f"agents.user.{user_id}"


def team_group(team_id: int) -> str:
    return f"agents.team.{team_id}"


def push_chat(
    *, ticket_id: int, customer_id: int, assignee_id: int | None, team_id: int | None
) -> None:
    """A chat waits for an agent: its assignee's pages, or (unassigned) its team's, say so."""
    if assignee_id is not None:
        group = user_group(assignee_id)
    elif team_id is not None:
        group = team_group(team_id)
    else:
        return
    notice = {
        "type": "ticket.notice",
        "ticket": ticket_id,
        "customer": customer_id,
        "kind": "chat",
        "assigned": assignee_id is not None,
    }
    publish(group, notice)


def _push(ticket_id: int, customer_id: int, kind: str) -> None:
    # `customer` lets an open ticket page pick up the customer's other tickets too.
    notice = {"type": "ticket.notice", "ticket": ticket_id, "customer": customer_id, "kind": kind}
    publish(ticket_group(ticket_id), notice)
    # A socket watching the ticket hears it from the ticket group; "scope" lets it
    # skip the inbox group's copy.
    publish(INBOX_GROUP, {**notice, "scope": "inbox"})


@subscribe(MessageReceived)
def push_message(event: MessageReceived) -> None:
    _push(event.ticket_id, event.customer_id, "message")


@subscribe(ReplyRecorded)
def push_reply(event: ReplyRecorded) -> None:
    _push(event.ticket_id, event.customer_id, "reply")


@subscribe(NoteAdded)
def push_note(event: NoteAdded) -> None:
    _push(event.ticket_id, event.customer_id, "note")


@subscribe(TicketChanged)
def push_change(event: TicketChanged) -> None:
    _push(event.ticket_id, event.customer_id, "changed")


@subscribe(DeliveryUpdated)
def push_delivery(event: DeliveryUpdated) -> None:
    publish(
        ticket_group(event.ticket_id),
        {
            "type": "ticket.notice",
            "ticket": event.ticket_id,
            "customer": event.customer_id,
            "kind": "delivery",
            "message": event.message_id,
            "state": event.state,
        },
    )
