"""channels_in listens to tickets' events: a recorded reply goes to the outbox worker."""

from tickets.events import ReplyRecorded, subscribe

from .tasks import send_message


@subscribe(ReplyRecorded)
def queue_send(event: ReplyRecorded) -> None:
    send_message.delay(event.message_id)
