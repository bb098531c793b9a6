"""channels_in listens to tickets' events: a recorded reply goes to the outbox worker,
and a chat visitor's message goes the chat's way (self_service.py): held while the
visitor reads articles, or given to an available agent of its inbox's team. It also
gives tickets the channels' reply rules (an SMS opt-out, Messenger's 24-hour window)."""

from tickets.events import MessageReceived, ReplyRecorded, subscribe
from tickets.models import Channel, Inbox, Ticket
from tickets.replies import ReplyError, add_reply_check

from .registry import get_adapter
from .self_service import on_visitor_message
from .tasks import acknowledge_ticket, send_message


@subscribe(ReplyRecorded)
def queue_send(event: ReplyRecorded) -> None:
    send_message.delay(event.message_id)


@subscribe(MessageReceived)
def route_chat_message(event: MessageReceived) -> None:
    if event.channel == Channel.WIDGET:
        on_visitor_message(event)


@subscribe(MessageReceived)
def queue_acknowledgement(event: MessageReceived) -> None:
    # A chat needs none: the widget's away notice already tells a visitor nobody can
    # answer live when to expect a reply (self_service.py), at once, in the chat.
    if event.ticket_created and event.channel != Channel.WIDGET:
        acknowledge_ticket.delay(event.ticket_id, event.message_id)


@add_reply_check
def channel_allows(ticket: Ticket, inbox: Inbox, options: dict) -> None:
    """Refuse a reply the channel cannot deliver now, with the reason and the way out."""
    try:
        adapter = get_adapter(inbox.channel)
    except LookupError:
        return  # no adapter, no rule: the send itself fails and says so
    reach = adapter.reach(ticket=ticket, inbox=inbox)
    if not reach.permits(options):
        raise ReplyError(reach.reason)
