"""Raw payload in, committed; then parse and ingest, recording the outcome.

store_raw() runs in the request that answers the provider, so a 2xx always
means the payload is on disk; webhooks commit it together with what
process_raw() made of it (one commit per message). process_raw() may fail;
the record then stays with its error and is replayed by the sweeper or an admin.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils import timezone

from tickets.delivery import record_delivery, record_delivery_report, record_delivery_watermark
from tickets.ingest import InboundMessage, IngestResult, ingest
from tickets.models import Inbox, Message

from .base import Accepted, DeliveryReport
from .models import RawInbound
from .registry import get_adapter

log = logging.getLogger(__name__)

# Other apps that take some inbound messages as answers to something of theirs
# (feedback: a survey's number texted back) see each message before it is
# ingested, to mark it (an answer reopens nothing), and after, in the same
# transaction, to record it. Registered in their AppConfig.ready().
BeforeIngest = Callable[[InboundMessage], InboundMessage]
AfterIngest = Callable[[IngestResult, InboundMessage], None]
_inbound_hooks: list[tuple[BeforeIngest, AfterIngest]] = []


def add_inbound_hook(before: BeforeIngest, after: AfterIngest) -> None:
    if (before, after) not in _inbound_hooks:
        _inbound_hooks.append((before, after))


@dataclass(frozen=True)
class Stored:
    raw: RawInbound
    duplicate: bool


def store_raw(*, inbox: Inbox, accepted: Accepted) -> Stored:
    """Commit the payload once per (inbox, provider key). A replay stores nothing."""
    try:
        with transaction.atomic():
            raw = RawInbound.objects.create(
                inbox=inbox,
                channel=inbox.channel,
                provider_key=accepted.provider_key[:255],
                body=accepted.body,
                content_type=accepted.content_type[:100],
                meta=accepted.meta or {},
            )
        return Stored(raw=raw, duplicate=False)
    except IntegrityError:
        raw = RawInbound.objects.get(inbox=inbox, provider_key=accepted.provider_key[:255])
        return Stored(raw=raw, duplicate=True)


def process_raw(raw_id: int, *, raw: RawInbound | None = None) -> IngestResult | None:
    """Parse and ingest one stored payload; idempotent (a processed one returns its result).

    The caller that just stored it passes the row (`raw`) to save reading it back.
    """
    if raw is None or raw.pk != raw_id:
        raw = RawInbound.objects.select_related("inbox").get(pk=raw_id)
    if raw.state == RawInbound.State.PROCESSED and raw.message_id:
        message = Message.objects.select_related("ticket").get(pk=raw.message_id)
        return IngestResult(message=message, ticket=message.ticket, duplicate=True)
    if raw.state == RawInbound.State.IGNORED:
        return None
    adapter = get_adapter(raw.channel)
    result = None
    try:
        # The message and the record of having processed it commit together:
        # one commit per message, and a crash in between leaves it for the sweeper.
        with transaction.atomic():
            parsed = adapter.parse(bytes(raw.body), raw.meta, raw.inbox)
            if isinstance(parsed, DeliveryReport):
                _apply_report(raw.inbox_id, parsed)
            elif parsed is not None:
                for before, _after in _inbound_hooks:
                    parsed = before(parsed)
                result = ingest(parsed, inbox=raw.inbox)
                if not result.duplicate:
                    adapter.after_ingest(result, parsed)
                    for _before, after in _inbound_hooks:
                        after(result, parsed)
            RawInbound.objects.filter(pk=raw.pk).update(
                state=RawInbound.State.PROCESSED if result else RawInbound.State.IGNORED,
                error="",
                attempts=raw.attempts + 1,
                message_id=result.message.pk if result else None,
                ticket_id=result.ticket.pk if result else None,
                processed_at=timezone.now(),
            )
    except Exception as exc:
        log.exception("inbound %s (%s %s) failed", raw.pk, raw.channel, raw.provider_key)
        RawInbound.objects.filter(pk=raw.pk).update(
            state=RawInbound.State.FAILED,
            error=f"{type(exc).__name__}: {exc}"[:5000],
            attempts=raw.attempts + 1,
        )
        return None
    return result


def _apply_report(inbox_id: int, report: DeliveryReport) -> None:
    if report.message_id is not None:
        # Only a message of this inbox: an id from a payload never reaches another's.
        if Message.objects.filter(pk=report.message_id, inbox_id=inbox_id).exists():
            record_delivery(message_id=report.message_id, state=report.state, error=report.error)
    for external_id in (report.external_id, *report.external_ids):
        if external_id:
            record_delivery_report(
                inbox_id=inbox_id, external_id=external_id, state=report.state, error=report.error
            )
    if report.recipient is not None and report.until is not None:
        kind, value = report.recipient
        record_delivery_watermark(
            inbox_id=inbox_id, kind=kind, value=value, state=report.state, until=report.until
        )


def replay(raw_ids: list[int]) -> int:
    """Put failed payloads back in the queue (after a fix) and process them now."""
    count = 0
    for raw_id in raw_ids:
        updated = RawInbound.objects.filter(
            pk=raw_id, state__in=[RawInbound.State.FAILED, RawInbound.State.RECEIVED]
        ).update(state=RawInbound.State.RECEIVED)
        if updated and process_raw(raw_id) is not None:
            count += 1
    return count
