"""Agent replies and internal notes.

A reply is stored as an outbound Message in state "pending" (our outbox row)
and announced with ReplyRecorded once committed; channels_in sends it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import Max, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _

from .events import NoteAdded, ReplyRecorded, emit
from .files import safe_filename
from .ingest import _preview
from .models import (
    IDENTITY_KIND_FOR_CHANNEL,
    AuthorKind,
    Channel,
    Delivery,
    Direction,
    EventKind,
    Inbox,
    Message,
    Status,
    Ticket,
    TimelineEvent,
)
from .sanitize import html_to_text, sanitize_html
from .sla import recompute_clocks

MAX_BODY = 50_000


class ReplyError(Exception):
    """The reply cannot be sent as asked; the message says why, for the agent.

    Messages are translated when raised, into the language of the request
    (the agent's profile language in the UI, Accept-Language in the API).
    """


@dataclass(frozen=True)
class ReplyResult:
    message: Message
    duplicate: bool


# Channel rules a reply must pass before it is stored (an SMS opt-out, Messenger's
# 24-hour window). Channels register them (tickets knows none); each raises
# ReplyError with the reason and the way out. Called as check(ticket, inbox, options).
ReplyCheck = Callable[[Ticket, Inbox, dict], None]
_reply_checks: list[ReplyCheck] = []


def add_reply_check(check: ReplyCheck) -> ReplyCheck:
    if check not in _reply_checks:
        _reply_checks.append(check)
    return check


def record_reply(
    *,
    ticket: Ticket,
    author: AbstractBaseUser,
    text: str = "",
    html: str = "",
    channel: str | None = None,
    status: str | None = None,
    idempotency_key: str | None = None,
    imported_at: datetime | None = None,
    attachments: Sequence[tuple[str, str, bytes]] = (),
    send_options: dict | None = None,
) -> ReplyResult:
    """Store an agent's public reply for sending on the ticket's channel or a chosen one.

    The same idempotency_key again returns the first reply and stores nothing.
    imported_at records a reply already sent elsewhere at that time (demo data,
    a move from another helpdesk): it is stored as sent and not sent again.
    attachments are (filename, content type, content) and go out with the reply.
    send_options are the channel's own (Messenger's {"tag": "HUMAN_AGENT"}); the
    channel's reply checks see them, and they are kept on the message for its sender.
    """
    # Our own HTML goes to the customer as written: their mail client shows its images.
    html = sanitize_html(html, block_remote_images=False)
    text = (text or html_to_text(html)).strip()
    if not text:
        raise ReplyError(_("A reply cannot be empty."))
    if len(text) > MAX_BODY:
        raise ReplyError(_("A reply can be at most %(max)s characters long.") % {"max": MAX_BODY})
    if status is not None and status not in Status.values:
        raise ReplyError(_("Unknown status: %(status)s.") % {"status": status})
    if idempotency_key:
        existing = Message.objects.filter(idempotency_key=idempotency_key).first()
        if existing is not None:
            return ReplyResult(message=existing, duplicate=True)
    channel = channel or ticket.last_channel
    inbox = inbox_for(ticket=ticket, channel=channel)
    send_options = dict(send_options or {})
    if imported_at is None:
        for check in _reply_checks:
            check(ticket, inbox, send_options)
    now = imported_at or timezone.now()
    try:
        with transaction.atomic():
            locked = Ticket.objects.select_for_update().get(pk=ticket.pk)
            message = Message.objects.create(
                ticket=locked,
                inbox=inbox,
                direction=Direction.OUT,
                author_kind=AuthorKind.AGENT,
                author=author,
                channel=channel,
                subject=locked.subject,
                body_text=text,
                body_html=html,
                idempotency_key=idempotency_key or None,
                delivery_state=Delivery.SENT if imported_at else Delivery.PENDING,
                created_at=now,
                meta={"send": send_options} if send_options else {},
            )
            for filename, content_type, content in attachments:
                name = safe_filename(filename)
                message.attachments.create(
                    file=ContentFile(content, name=name),
                    filename=name,
                    content_type=(content_type or "application/octet-stream")[:100],
                    size=len(content),
                )
            old_status = locked.status
            locked.first_response_at = locked.first_response_at or now
            locked.last_agent_message_at = now
            locked.last_channel = channel
            # An agent answering a chat held for self-service has taken it over.
            locked.awaiting_handoff = False
            if inbox.pk != locked.inbox_id:
                locked.reply_inbox = inbox
            locked.last_activity_at = now
            locked.preview = _preview(text)
            if status:
                locked.set_status(status, now)
            elif locked.status == Status.NEW:
                locked.set_status(Status.OPEN, now)
            locked.updated_at = now
            locked.save()
            recompute_clocks(ticket=locked, at=now)
            events = [
                TimelineEvent(
                    customer_id=locked.customer_id,
                    ticket=locked,
                    kind=EventKind.MESSAGE,
                    message=message,
                    actor=author,
                    created_at=now,
                )
            ]
            if locked.status != old_status:
                events.append(
                    TimelineEvent(
                        customer_id=locked.customer_id,
                        ticket=locked,
                        kind=EventKind.STATUS,
                        actor=author,
                        created_at=now,
                        data={"from": old_status, "to": locked.status},
                    )
                )
            TimelineEvent.objects.bulk_create(events)
            if imported_at is None:
                emit(
                    ReplyRecorded(
                        message_id=message.pk,
                        ticket_id=locked.pk,
                        customer_id=locked.customer_id,
                        channel=channel,
                    )
                )
    except IntegrityError:
        # The same key raced in from a parallel request: that one won.
        existing = Message.objects.filter(idempotency_key=idempotency_key).first()
        if existing is None:
            raise
        return ReplyResult(message=existing, duplicate=True)
    ticket.refresh_from_db()
    return ReplyResult(message=message, duplicate=False)


def _channel_label(channel: str) -> str:
    """The channel as agents know it ("SMS", "Chat"), in the active language."""
    try:
        return str(Channel(channel).label)
    except ValueError:
        return channel


def inbox_for(*, ticket: Ticket, channel: str) -> Inbox:
    """The inbox a reply on `channel` leaves from, if the customer can be reached there."""
    kind = IDENTITY_KIND_FOR_CHANNEL.get(channel)
    if kind is None:
        raise ReplyError(_("Unknown channel: %(channel)s.") % {"channel": channel})
    if not ticket.customer.identities.filter(kind=kind).exists():
        raise ReplyError(
            _("The customer has no %(channel)s contact to reply to.")
            % {"channel": _channel_label(channel)}
        )
    inbox = reply_inboxes(ticket=ticket, channels=[channel]).get(channel)
    if inbox is None:
        raise ReplyError(
            _("No active %(channel)s inbox to send from.") % {"channel": _channel_label(channel)}
        )
    return inbox


def reply_inboxes(*, ticket: Ticket, channels: Sequence[str]) -> dict[str, Inbox]:
    """The inbox a reply on each channel leaves from, for all of them in at most three
    queries: the ticket's own inbox for its channel; else the inbox of the customer's
    latest message on that channel (continuing where they were), if active; else the
    channel's first active inbox. A channel with no active inbox is left out."""
    found: dict[str, Inbox] = {}
    if ticket.inbox.is_active and ticket.inbox.channel in channels:
        found[ticket.inbox.channel] = ticket.inbox
    rest = [channel for channel in channels if channel not in found]
    if rest:
        latest = (
            Message.objects.filter(ticket__customer_id=ticket.customer_id, channel__in=rest)
            .order_by()
            .values("channel")
            .annotate(last=Max("id"))
            .values("last")
        )
        recent = (
            Message.objects.filter(pk__in=Subquery(latest))
            .select_related("inbox")
            .only("channel", "inbox")
        )
        for message in recent:
            if message.inbox.is_active:
                found[message.channel] = message.inbox
        rest = [channel for channel in rest if channel not in found]
    if rest:
        for inbox in Inbox.objects.filter(channel__in=rest, is_active=True).order_by("-id"):
            found[inbox.channel] = inbox  # the lowest id is written last and wins
    return found


def add_note(*, ticket: Ticket, author: AbstractBaseUser, text: str) -> Message:
    """An internal note: seen by agents only, never sent anywhere."""
    text = text.strip()
    if not text:
        raise ReplyError(_("A note cannot be empty."))
    if len(text) > MAX_BODY:
        raise ReplyError(_("A note can be at most %(max)s characters long.") % {"max": MAX_BODY})
    now = timezone.now()
    with transaction.atomic():
        note = Message.objects.create(
            ticket=ticket,
            inbox_id=ticket.inbox_id,
            direction=Direction.OUT,
            author_kind=AuthorKind.AGENT,
            author=author,
            channel=ticket.last_channel,
            is_note=True,
            body_text=text,
            delivery_state=Delivery.SENT,
            created_at=now,
        )
        TimelineEvent.objects.create(
            customer_id=ticket.customer_id,
            ticket=ticket,
            kind=EventKind.NOTE,
            message=note,
            actor=author,
            created_at=now,
        )
        Ticket.objects.filter(pk=ticket.pk).update(updated_at=now)
        emit(NoteAdded(message_id=note.pk, ticket_id=ticket.pk, customer_id=ticket.customer_id))
    return note
