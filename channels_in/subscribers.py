"""channels_in listens to tickets' events: a recorded reply goes to the outbox worker,
and a new chat is given to an available agent of its inbox's team."""

from agents.live import push_chat
from agents.presence import chat_candidates
from tickets.assignment import assign_chat
from tickets.events import MessageReceived, ReplyRecorded, subscribe
from tickets.models import Channel, Inbox, Ticket

from .tasks import send_message


@subscribe(ReplyRecorded)
def queue_send(event: ReplyRecorded) -> None:
    send_message.delay(event.message_id)


@subscribe(MessageReceived)
def assign_new_chat(event: MessageReceived) -> None:
    """A new chat goes to the least-loaded online agent of the inbox's team (anyone
    online, for an inbox without a team); the agent's pages, or the team's when
    nobody could take it, are told."""
    if event.channel != Channel.WIDGET or not event.ticket_created:
        return
    team_id = Inbox.objects.filter(pk=event.inbox_id).values_list("team_id", flat=True).first()
    assignee = assign_chat(event.ticket_id, candidates=chat_candidates(team_id))
    ticket = Ticket.objects.filter(pk=event.ticket_id).values("assignee_id", "team_id").first()
    if ticket is None:
        return
    if assignee is None and ticket["assignee_id"] is not None:
        return  # someone took it already; nothing is waiting
    push_chat(
        ticket_id=event.ticket_id,
        customer_id=event.customer_id,
        assignee_id=ticket["assignee_id"],
        team_id=ticket["team_id"],
    )
