"""channels_in listens to tickets' events: a recorded reply goes to the outbox worker,
and a chat visitor's message goes the chat's way (self_service.py): held while the
visitor reads articles, or given to an available agent of its inbox's team."""

from tickets.events import MessageReceived, ReplyRecorded, subscribe
from tickets.models import Channel

from .self_service import on_visitor_message
from .tasks import send_message


@subscribe(ReplyRecorded)
def queue_send(event: ReplyRecorded) -> None:
    send_message.delay(event.message_id)


@subscribe(MessageReceived)
def route_chat_message(event: MessageReceived) -> None:
    if event.channel == Channel.WIDGET:
        on_visitor_message(event)
