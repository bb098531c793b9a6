"""Celery tasks: each takes ids, calls one function, and is safe to run twice."""

from __future__ import annotations

import logging
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from tickets.acknowledge import acknowledge
from tickets.delivery import claim_for_sending, record_delivery
from tickets.models import Delivery, Message

from .base import DeliveryError, SuppressedError
from .media import MediaError, fetch_message_media
from .models import RawInbound
from .pipeline import process_raw
from .registry import get_adapter

log = logging.getLogger(__name__)

MAX_SEND_ATTEMPTS = 5


@shared_task(acks_late=True)
def process_inbound(raw_id: int) -> None:
    process_raw(raw_id)


@shared_task(acks_late=True)
def acknowledge_ticket(ticket_id: int, message_id: int) -> str:
    """A new ticket's acknowledgement (tickets/acknowledge.py); recorded once whatever reruns."""
    return acknowledge(ticket_id=ticket_id, message_id=message_id).state


@shared_task(bind=True, acks_late=True, max_retries=MAX_SEND_ATTEMPTS)
def send_message(self, message_id: int) -> None:
    send_outbound(
        message_id, retry=lambda exc: self.retry(exc=exc, countdown=2**self.request.retries * 5)
    )


def send_outbound(message_id: int, retry=None) -> str:
    """Send one outbox message through its channel's adapter. Returns the new state.

    Only a message claimed from "pending" is sent, so a task delivered twice
    sends once. A temporary failure goes back to pending and is retried with
    backoff; a permanent one is recorded as failed with the provider's reason.
    """
    message = claim_for_sending(message_id)
    if message is None:
        return "skipped"
    try:
        result = get_adapter(message.channel).deliver(message)
    except DeliveryError as exc:
        final = exc.permanent or message.send_attempts >= MAX_SEND_ATTEMPTS or retry is None
        if final:
            record_delivery(message_id=message_id, state=Delivery.FAILED, error=exc.reason)
            return Delivery.FAILED
        record_delivery(message_id=message_id, state=Delivery.PENDING, error=exc.reason, retry=True)
        retry(exc)
        return Delivery.PENDING
    except SuppressedError as exc:
        record_delivery(message_id=message_id, state=Delivery.SUPPRESSED, error=exc.reason)
        return Delivery.SUPPRESSED
    except LookupError as exc:
        record_delivery(message_id=message_id, state=Delivery.FAILED, error=str(exc))
        return Delivery.FAILED
    record_delivery(message_id=message_id, state=result.state, external_id=result.external_id)
    return result.state


@shared_task(bind=True, acks_late=True, max_retries=MAX_SEND_ATTEMPTS)
def fetch_media(self, message_id: int) -> int:
    """Fetch the pictures and files a provider holds for an inbound message (MMS, Messenger)."""
    channel = Message.objects.filter(pk=message_id).values_list("channel", flat=True).first()
    if channel is None:
        return 0
    try:
        return fetch_message_media(message_id, fetch=get_adapter(channel).fetch_media)
    except MediaError as exc:
        if self.request.retries >= MAX_SEND_ATTEMPTS:
            log.error("media of message %s not fetched after retries: %s", message_id, exc.reason)
            return 0
        raise self.retry(exc=exc, countdown=2**self.request.retries * 5) from exc


@shared_task
def sweep_inbound() -> int:
    """Process payloads left unprocessed (a crash between commit and processing)."""
    cutoff = timezone.now() - timedelta(seconds=settings.INBOUND_SWEEP_AFTER_SECONDS)
    ids = list(
        RawInbound.objects.filter(state=RawInbound.State.RECEIVED, received_at__lt=cutoff)
        .order_by("received_at")
        .values_list("id", flat=True)[:500]
    )
    for raw_id in ids:
        process_raw(raw_id)
    return len(ids)


@shared_task
def sweep_outbound() -> int:
    """Requeue replies whose task was lost; mark sends stuck mid-flight as unknown."""
    now = timezone.now()
    stuck_cutoff = now - timedelta(seconds=settings.OUTBOUND_STUCK_AFTER_SECONDS)
    stuck = Message.objects.filter(delivery_state=Delivery.SENDING, created_at__lt=stuck_cutoff)
    for message_id in stuck.values_list("id", flat=True)[:500]:
        # We cannot know whether the provider got it: say so rather than send twice.
        record_delivery(
            message_id=message_id,
            state=Delivery.UNKNOWN,
            error="The worker stopped while sending; check with the customer before resending.",
        )
    pending = Message.objects.filter(
        delivery_state=Delivery.PENDING, created_at__lt=now - timedelta(seconds=30)
    ).values_list("id", flat=True)[:500]
    for message_id in pending:
        send_message.delay(message_id)
    return len(pending)


@shared_task
def poll_mailboxes() -> int:
    """Beat: queue one poll per IMAP inbox that is due; a failing one delays no other."""
    from .email.imap import claim_due_mailboxes

    inbox_ids = claim_due_mailboxes()
    for inbox_id in inbox_ids:
        poll_mailbox.delay(inbox_id)
    return len(inbox_ids)


@shared_task(acks_late=True)
def poll_mailbox(inbox_id: int) -> str:
    """Fetch one inbox's new mail; a second run at the same time skips (the lease)."""
    from .email.imap import poll_mailbox as poll

    return poll(inbox_id).state
