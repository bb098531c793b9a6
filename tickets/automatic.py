"""Automatic messages of ours (acknowledgements, surveys): recorded like replies, marked automatic.

The channel that sends one decides at the last moment whether it may go
(channels_in: RFC 3834 loop rules for email, opt-outs for SMS); a message
held back is kept with the reason, never silently dropped.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from .events import ReplyRecorded, emit
from .models import AuthorKind, Delivery, Direction, EventKind, Message, Ticket, TimelineEvent
from .replies import inbox_for
from .sanitize import html_to_text, sanitize_html


def record_automatic_reply(
    *, ticket: Ticket, text: str = "", html: str = "", idempotency_key: str | None = None
) -> Message:
    """Queue an automatic message to the ticket's customer on the ticket's channel.

    The same idempotency_key again returns the first message and queues nothing.
    It does not count as the team's first response and leaves the status alone.
    """
    # Our own HTML: its images are meant to be seen by the customer.
    html = sanitize_html(html, block_remote_images=False)
    text = (text or html_to_text(html)).strip()
    if idempotency_key:
        existing = Message.objects.filter(idempotency_key=idempotency_key).first()
        if existing is not None:
            return existing
    inbox = inbox_for(ticket=ticket, channel=ticket.last_channel)
    now = timezone.now()
    with transaction.atomic():
        message = Message.objects.create(
            ticket=ticket,
            inbox=inbox,
            direction=Direction.OUT,
            author_kind=AuthorKind.SYSTEM,
            channel=ticket.last_channel,
            subject=ticket.subject,
            body_text=text,
            body_html=html,
            is_automated=True,
            idempotency_key=idempotency_key or None,
            delivery_state=Delivery.PENDING,
            created_at=now,
        )
        TimelineEvent.objects.create(
            customer_id=ticket.customer_id,
            ticket=ticket,
            kind=EventKind.MESSAGE,
            message=message,
            created_at=now,
        )
        emit(
            ReplyRecorded(
                message_id=message.pk,
                ticket_id=ticket.pk,
                customer_id=ticket.customer_id,
                channel=ticket.last_channel,
            )
        )
    return message
