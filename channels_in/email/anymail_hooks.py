"""Email services through django-anymail: inbound mail and delivery tracking.

Anymail authenticates each webhook (its shared basic-auth secret, plus the
service's own signature where it has one) and hands us normalized events.
Inbound mail is committed raw like every other path (receive.py) and goes
through the same parse and ingest. Tracking events move an outbound
message's delivery state: a bounce or rejection fails it, and a hard bounce
or a complaint stops automatic mail to the address.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import wraps

from anymail.signals import AnymailInboundEvent, AnymailTrackingEvent, inbound, tracking
from django.db import DatabaseError, transaction
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse, JsonResponse

from tickets.delivery import record_delivery
from tickets.models import Channel, Delivery, Inbox, Message

from . import loops
from .receive import store_email

log = logging.getLogger(__name__)

# Anymail's normalized event types -> our delivery states.
_FAILED = {"bounced", "rejected", "failed"}
_STATES = {"delivered": Delivery.DELIVERED, "sent": Delivery.SENT, "queued": Delivery.SENT}


def inbox_for_recipients(addresses: list[str]) -> Inbox | None:
    """The active email inbox that receives at one of these addresses (first match wins)."""
    wanted = [a.strip().lower() for a in addresses if a and "@" in a]
    if not wanted:
        return None
    # Email inboxes are few; their addresses live in config (address, aliases).
    by_address: dict[str, Inbox] = {}
    for inbox in Inbox.objects.filter(channel=Channel.EMAIL, is_active=True).order_by("id"):
        config = inbox.config or {}
        for address in [config.get("address"), *config.get("aliases", [])]:
            if address:
                by_address.setdefault(str(address).lower(), inbox)
    return next((by_address[a] for a in wanted if a in by_address), None)


@receiver(inbound, dispatch_uid="helpdesk-email-inbound")
def receive_inbound(sender, event: AnymailInboundEvent, esp_name: str, **kwargs) -> None:
    from ..pipeline import process_raw

    message = event.message
    candidates = [message.envelope_recipient or ""]
    for header in ("Delivered-To", "X-Original-To", "To", "Cc"):
        candidates += [a.addr_spec for a in message.get_address_header(header)]
    inbox = inbox_for_recipients(candidates)
    if inbox is None:
        log.warning("%s inbound mail for %s: no inbox receives there", esp_name, candidates[:5])
        return
    raw = message.as_bytes()
    # Committed before Anymail answers 2xx; a database error becomes a 503 (see urls).
    with transaction.atomic():  # committed once, before Anymail answers 2xx
        stored = store_email(inbox=inbox, raw=raw, source=f"anymail:{esp_name.lower()}")
        if not stored.duplicate:
            process_raw(stored.raw.pk, raw=stored.raw)


@receiver(tracking, dispatch_uid="helpdesk-email-tracking")
def receive_tracking(sender, event: AnymailTrackingEvent, esp_name: str, **kwargs) -> None:
    message_id = _our_message(event)
    reason = event.description or event.mta_response or event.event_type
    if event.event_type in ("bounced", "complained") and event.recipient:
        # A hard bounce or a spam complaint: no automatic mail there for a while.
        loops.suppress(address=event.recipient, reason=f"{event.event_type}: {reason}")
    if message_id is None:
        return
    if event.event_type in _FAILED:
        record_delivery(
            message_id=message_id,
            state=Delivery.FAILED,
            error=f"{esp_name}: {event.event_type}: {reason}"[:500],
        )
    elif event.event_type in _STATES:
        record_delivery(message_id=message_id, state=_STATES[event.event_type])


def _our_message(event: AnymailTrackingEvent) -> int | None:
    """The outbound email message the event is about, from the metadata we sent with it."""
    value = (event.metadata or {}).get("helpdesk_message")
    try:
        message_id = int(value)
    except (TypeError, ValueError):
        return None
    exists = Message.objects.filter(
        pk=message_id, direction="out", channel=Channel.EMAIL, is_note=False
    ).exists()
    return message_id if exists else None


def unavailable_is_503(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Anymail's views answer 500 on any error; ours says 503 when the database cannot
    take the mail, so the service retries, as our other webhooks do."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except DatabaseError:
            log.exception("anymail webhook: the mail could not be stored")
            return JsonResponse(
                {"error": "unavailable", "detail": "The message could not be stored; retry later."},
                status=503,
            )

    return wrapped
