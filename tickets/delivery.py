"""What channels report back about outbound messages."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction

from .events import DeliveryUpdated, emit
from .models import Delivery, Identity, Message

# A state only moves forward: a late "sent" never overwrites "delivered".
_RANK = {
    Delivery.PENDING: 0,
    Delivery.SENDING: 1,
    Delivery.UNKNOWN: 2,
    Delivery.SENT: 3,
    Delivery.DELIVERED: 4,
    Delivery.READ: 5,
    Delivery.FAILED: 6,
    Delivery.SUPPRESSED: 6,
}
# Final states a later report may still set (a bounce after "delivered").
_FINAL = (Delivery.FAILED, Delivery.SUPPRESSED)


def claim_for_sending(message_id: int) -> Message | None:
    """Move a pending outbound message to "sending", or return None if it is not pending.

    Only the claimant sends, so a redelivered task never sends twice.
    """
    with transaction.atomic():
        message = (
            Message.objects.select_for_update()
            .select_related("ticket", "inbox", "ticket__customer")
            .filter(pk=message_id, direction="out", is_note=False)
            .first()
        )
        if message is None or message.delivery_state != Delivery.PENDING:
            return None
        message.delivery_state = Delivery.SENDING
        message.send_attempts += 1
        message.save(update_fields=["delivery_state", "send_attempts"])
    return message


def record_delivery(
    *,
    message_id: int,
    state: str,
    error: str = "",
    external_id: str | None = None,
    retry: bool = False,
) -> bool:
    """Record a send outcome or a provider status callback. Returns whether it changed anything.

    retry=True puts a message that failed temporarily back to "pending".
    """
    with transaction.atomic():
        message = Message.objects.select_for_update().filter(pk=message_id).first()
        if message is None:
            return False
        if retry:
            if message.delivery_state not in (Delivery.SENDING, Delivery.FAILED, Delivery.UNKNOWN):
                return False
            message.delivery_state = Delivery.PENDING
        elif _RANK.get(state, 0) <= _RANK.get(message.delivery_state, 0) and state not in _FINAL:
            return False
        else:
            message.delivery_state = state
        message.delivery_error = error[:500]
        fields = ["delivery_state", "delivery_error"]
        if external_id and not message.external_id:
            message.external_id = external_id
            fields.append("external_id")
        message.save(update_fields=fields)
        emit(
            DeliveryUpdated(
                message_id=message.pk,
                ticket_id=message.ticket_id,
                customer_id=message.ticket.customer_id,
                state=message.delivery_state,
            )
        )
    return True


def record_delivery_report(*, inbox_id: int, external_id: str, state: str, error: str = "") -> bool:
    """A provider's report on a message we sent (a bounce, a read receipt), by its id.

    Returns False when no outbound message of the inbox has that id.
    """
    message_id = (
        Message.objects.filter(inbox_id=inbox_id, external_id=external_id, direction="out")
        .values_list("pk", flat=True)
        .first()
    )
    if message_id is None:
        return False
    return record_delivery(message_id=message_id, state=state, error=error)


def record_delivery_watermark(
    *, inbox_id: int, kind: str, value: str, state: str, until: datetime
) -> int:
    """ "Everything sent to this recipient up to `until` has reached `state`" (Messenger's
    delivery and read watermarks). Returns how many messages moved on.

    Only sends of the last WATERMARK_DAYS are looked at: older ones were settled long ago.
    """
    customer_id = (
        Identity.objects.filter(kind=kind, value=Identity.normalize(kind, value))
        .values_list("customer_id", flat=True)
        .first()
    )
    if customer_id is None:
        return 0
    behind = [s for s, rank in _RANK.items() if rank < _RANK.get(state, 0) and s in _SETTLED]
    message_ids = Message.objects.filter(
        inbox_id=inbox_id,
        ticket__customer_id=customer_id,
        direction="out",
        is_note=False,
        delivery_state__in=behind,
        created_at__lte=until,
        created_at__gte=until - timedelta(days=WATERMARK_DAYS),
    ).values_list("pk", flat=True)
    return sum(record_delivery(message_id=pk, state=state) for pk in list(message_ids))


# A watermark moves on only messages the provider has taken; one still queued or
# sending on our side is not the one the recipient read.
_SETTLED = (Delivery.SENT, Delivery.DELIVERED, Delivery.UNKNOWN)
WATERMARK_DAYS = 7
