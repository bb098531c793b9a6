"""The one ingest path: every inbound message of every channel ends here.

Channel adapters turn a provider payload into an InboundMessage and call
ingest(). In one transaction it resolves the customer, finds the ticket to
thread into, stores the message once and appends to the timeline; after
commit it emits MessageReceived for workers and the live agent UI.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from django.core.files.base import ContentFile
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from .events import MessageReceived, emit
from .files import safe_filename
from .models import (
    OPEN_STATUSES,
    AuthorKind,
    Customer,
    Direction,
    EventKind,
    Identity,
    Inbox,
    Message,
    Status,
    Ticket,
    TicketParticipant,
    TimelineEvent,
)
from .sanitize import html_to_text, sanitize_html
from .sla import recompute_clocks

log = logging.getLogger(__name__)

PREVIEW_LENGTH = 200


@dataclass(frozen=True)
class SenderIdentity:
    kind: str
    value: str
    name: str = ""
    verified: bool = False


@dataclass(frozen=True)
class InboundAttachment:
    filename: str
    content_type: str
    content: bytes
    # Set for an image the body shows inline (an email's cid: reference).
    content_id: str = ""


@dataclass(frozen=True)
class InboundMessage:
    """A provider payload translated into our terms, channel-neutral."""

    inbox_id: int
    channel: str
    # Who wrote it. None only when an agent records it for a known customer_id.
    sender: SenderIdentity | None
    # The provider's id: Message-ID, MessageSid, Messenger mid, widget client id.
    external_id: str
    text: str = ""
    html: str = ""
    subject: str = ""
    sent_at: datetime | None = None
    # When it reached us, if earlier than now: a mailbox backlog, an import.
    received_at: datetime | None = None
    attachments: tuple[InboundAttachment, ...] = ()
    # A ticket the channel proved this message answers (a signed Message-ID of
    # ours, a signed marker we put in the body). Still subject to the
    # participant check: proof of the thread is no proof of the sender.
    ticket_hint: int | None = None
    # Ids of earlier messages this one answers (In-Reply-To, References, ...),
    # most relevant first.
    thread_hints: tuple[str, ...] = ()
    # A ticket number the customer quoted (e.g. "[#4821]" in a subject).
    ticket_reference: int | None = None
    # A conversation id the client keeps across a thread (Outlook's Thread-Index).
    thread_key: str | None = None
    # Chat and SMS are one running conversation: with no hint, the message
    # continues the customer's open ticket on the inbox. An email without any
    # hint is a new request (False).
    continues_conversation: bool = True
    # Others the message was addressed to (Cc): they become participants.
    cc: tuple[SenderIdentity, ...] = ()
    locale: str = ""
    is_automated: bool = False
    meta: dict = field(default_factory=dict)
    # An agent recording a customer's request by hand (a call, a visit):
    # the agent's id, the customer if already known, and always a new ticket.
    recorded_by: int | None = None
    customer_id: int | None = None
    new_ticket: bool = False
    priority: int | None = None
    idempotency_key: str | None = None


@dataclass(frozen=True)
class IngestResult:
    message: Message
    ticket: Ticket
    duplicate: bool
    ticket_created: bool = False
    reopened: bool = False


class IngestError(Exception):
    """The message cannot be ingested as given (e.g. an inactive inbox)."""


def ingest(inbound: InboundMessage, *, inbox: Inbox | None = None) -> IngestResult:
    """Store one inbound message exactly once and thread it into a ticket.

    A replay (same inbox and external_id) stores nothing and returns the
    message stored the first time. Safe under concurrency: a unique-key race
    with a parallel delivery of the same message or the same new customer
    rolls back and is retried, and the retry finds the winner's rows.
    Callers that already hold the Inbox row (a webhook) pass it to save a query.
    """
    if not inbound.external_id:
        raise IngestError("an inbound message needs the provider's id")
    for attempt in range(3):
        try:
            return _ingest_once(inbound, inbox, check_replay=attempt > 0)
        except IntegrityError:
            if attempt == 2:
                raise
            # A replay, or a parallel delivery of the same message or new customer.
            log.debug("unique key hit for %s, retrying with a replay check", inbound.external_id)
    raise AssertionError("unreachable")


def _ingest_once(
    inbound: InboundMessage, inbox: Inbox | None, *, check_replay: bool
) -> IngestResult:
    now = inbound.received_at or timezone.now()
    with transaction.atomic():
        if check_replay:
            existing = (
                Message.objects.select_related("ticket")
                .filter(inbox_id=inbound.inbox_id, external_id=inbound.external_id)
                .first()
            )
            if existing is not None:
                return IngestResult(message=existing, ticket=existing.ticket, duplicate=True)
        if inbox is None or inbox.pk != inbound.inbox_id:
            inbox = Inbox.objects.get(pk=inbound.inbox_id)
        if not inbox.is_active:
            # An agent opening a ticket can meet this one (tickets/opening.py): translated.
            raise IngestError(_("The inbox %(inbox)s is not active.") % {"inbox": inbox.name})
        if inbound.customer_id is not None:
            chosen = Customer.objects.select_for_update().get(pk=inbound.customer_id)
            customer_id = chosen.live().pk
            new_customer = False
        else:
            customer_id, new_customer = _resolve_customer(inbound, inbox, now)
        sender_customer_id = customer_id
        if inbound.new_ticket:
            thread = _Thread(
                ticket=_new_ticket(inbound, inbox, customer_id, now, follows=None), created=True
            )
        else:
            thread = _find_ticket(inbound, inbox, customer_id, now, new_customer=new_customer)
        ticket, created, reopened = thread.ticket, thread.created, thread.reopened
        # A participant's message (a colleague on Cc) belongs to the ticket's customer's timeline.
        customer_id = ticket.customer_id
        meta = dict(inbound.meta)
        if sender_customer_id != customer_id:
            meta["participant"] = sender_customer_id
        if thread.refused is not None:
            meta["refused_thread"] = thread.refused.pk
        if created and inbound.priority:
            ticket.priority = inbound.priority

        html = sanitize_html(inbound.html)
        text = inbound.text or html_to_text(html)
        ticket.last_channel = inbound.channel
        if not inbound.is_automated:
            # A machine's answer (out of office, a read receipt) is nobody waiting on us.
            ticket.last_customer_message_at = now
        ticket.last_activity_at = now
        ticket.updated_at = now
        ticket.preview = _preview(text)
        if ticket.status in (Status.PENDING, Status.SOLVED) and not inbound.is_automated:
            # The customer answered: the ball is in our court again.
            ticket.status = Status.OPEN
            ticket.solved_at = None
        if created:
            ticket.save()
        else:
            ticket.save(
                update_fields=[
                    "last_channel",
                    "last_customer_message_at",
                    "last_activity_at",
                    "updated_at",
                    "preview",
                    "status",
                    "solved_at",
                ]
            )
        recompute_clocks(ticket=ticket, at=now)

        # The first insert of a replay fails on the unique key here; the
        # transaction rolls back and the retry returns the stored message.
        message = Message.objects.create(
            ticket=ticket,
            inbox=inbox,
            direction=Direction.IN,
            author_kind=AuthorKind.CUSTOMER,
            channel=inbound.channel,
            subject=inbound.subject[:300],
            body_text=text,
            body_html=html,
            external_id=inbound.external_id,
            thread_key=inbound.thread_key or None,
            idempotency_key=inbound.idempotency_key,
            is_automated=inbound.is_automated,
            sent_at=inbound.sent_at,
            created_at=now,
            meta=meta,
        )
        if inbound.attachments:
            add_attachments(message, inbound.attachments)
        added = (
            _add_participants(ticket, inbound.cc, {customer_id, sender_customer_id}, now)
            if inbound.cc
            else []
        )

        events = []
        if created:
            events.append(
                TimelineEvent(
                    customer_id=customer_id,
                    ticket=ticket,
                    kind=EventKind.TICKET_CREATED,
                    data={
                        "channel": inbound.channel,
                        "follows": ticket.follows_id,
                        # Kept apart: the sender claimed this ticket without taking part in it.
                        "refused_thread": thread.refused.pk if thread.refused else None,
                    },
                    actor_id=inbound.recorded_by,
                    created_at=now,
                )
            )
        if reopened:
            events.append(
                TimelineEvent(
                    customer_id=customer_id, ticket=ticket, kind=EventKind.REOPENED, created_at=now
                )
            )
        events.append(
            TimelineEvent(
                customer_id=customer_id,
                ticket=ticket,
                kind=EventKind.MESSAGE,
                message=message,
                actor_id=inbound.recorded_by,
                created_at=now,
            )
        )
        events.extend(
            TimelineEvent(
                customer_id=customer_id,
                ticket=ticket,
                kind=EventKind.PARTICIPANT_ADDED,
                data={"customer": participant},
                created_at=now,
            )
            for participant in added
        )
        if len(events) == 1:
            events[0].save()
        else:
            TimelineEvent.objects.bulk_create(events)

        emit(
            MessageReceived(
                message_id=message.pk,
                ticket_id=ticket.pk,
                customer_id=customer_id,
                inbox_id=inbox.pk,
                channel=inbound.channel,
                ticket_created=created,
                reopened=reopened,
            )
        )
    return IngestResult(
        message=message, ticket=ticket, duplicate=False, ticket_created=created, reopened=reopened
    )


def _resolve_customer(inbound: InboundMessage, inbox: Inbox, now: datetime) -> tuple[int, bool]:
    """Return (customer id, created) for the sender, creating the customer on first contact."""
    sender = inbound.sender
    if sender is None:
        raise IngestError("an inbound message needs a sender or a customer")
    value = Identity.normalize(sender.kind, sender.value)
    # One statement finds the customer, marks them seen and locks their row, so
    # two messages of one customer thread one after the other and cannot both
    # open a new ticket. (A row lock is what UPDATE takes; RETURNING is in
    # PostgreSQL and SQLite >= 3.35.)
    with connection.cursor() as cursor:
        cursor.execute(_TOUCH_CUSTOMER, [now, sender.kind, value, sender.kind, value])
        row = cursor.fetchone()
    if row is not None:
        customer_id, verified = row
        if sender.verified and not verified:
            # The channel proved the sender holds it (a text from the number): an
            # identity an agent noted down from a conversation is now confirmed.
            Identity.objects.filter(kind=sender.kind, value=value).update(verified=True)
        return customer_id, False
    customer = Customer.objects.create(
        name=sender.name[:200],
        locale=inbound.locale or inbox.language,
        created_at=now,
        last_seen_at=now,
    )
    # A parallel first message from the same sender wins the unique key; we
    # roll back and the retry finds its customer.
    Identity.objects.create(
        customer=customer, kind=sender.kind, value=value, verified=sender.verified, created_at=now
    )
    return customer.pk, True


# Table names from our own models, no outside input.
_TOUCH_CUSTOMER = (
    f"UPDATE {Customer._meta.db_table} SET last_seen_at = %s WHERE id = "  # noqa: S608
    f"(SELECT customer_id FROM {Identity._meta.db_table} WHERE kind = %s AND value = %s) "
    f"RETURNING id, (SELECT verified FROM {Identity._meta.db_table} "
    "WHERE kind = %s AND value = %s)"
)


@dataclass
class _Thread:
    ticket: Ticket
    created: bool = False
    reopened: bool = False
    # A ticket the message claimed to answer although its sender takes no part in it.
    refused: Ticket | None = None


def _find_ticket(
    inbound: InboundMessage, inbox: Inbox, customer_id: int, now: datetime, *, new_customer: bool
) -> _Thread:
    """Pick the ticket for the message, by the rules in order (docs/threading.md):

    1. a ticket the message answers: one the channel proved (ticket_hint), the
       ticket of a stored message it names (thread_hints), the number it quotes
       (ticket_reference), the conversation its client keeps (thread_key);
       only if the sender is the ticket's customer or one of its participants;
       otherwise a new ticket linked to it and flagged, never appended;
    2. for channels that are one running conversation (chat, SMS, ...): the
       customer's open ticket on this inbox (or continued by an agent on it),
       else their latest solved one there;
    3. a solved ticket from 1 or 2 reopens within the reopen window;
    4. otherwise a new ticket, following the one from 1 or 2 if any.
    """
    hinted = _hinted_ticket(inbound)
    if hinted is not None and not _takes_part(hinted, customer_id):
        log.warning(
            "message %s claims ticket %s but its sender is not a participant",
            inbound.external_id,
            hinted.pk,
        )
        ticket = _new_ticket(inbound, inbox, customer_id, now, follows=hinted)
        return _Thread(ticket=ticket, created=True, refused=hinted)
    candidate = hinted
    if candidate is None and inbound.continues_conversation and not new_customer:
        # "On this inbox" includes a conversation an agent continued from this
        # inbox, so the customer's answer lands where the question was asked.
        # One query: a customer has few tickets here; pick in Python.
        recent = list(
            Ticket.objects.filter(
                Q(inbox_id=inbox.pk) | Q(reply_inbox_id=inbox.pk),
                customer_id=customer_id,
                status__in=(*OPEN_STATUSES, Status.SOLVED),
            ).order_by("-last_activity_at")[:20]
        )
        candidate = next((t for t in recent if t.is_open), None)
        if candidate is None and recent:
            candidate = max(recent, key=lambda t: t.solved_at or t.updated_at)
    if candidate is not None:
        if candidate.is_open:
            return _Thread(ticket=candidate)
        if candidate.can_reopen(now):
            # An out-of-office reply belongs to the ticket but reopens nothing.
            return _Thread(ticket=candidate, reopened=not inbound.is_automated)
    return _Thread(
        ticket=_new_ticket(inbound, inbox, customer_id, now, follows=candidate), created=True
    )


def _new_ticket(
    inbound: InboundMessage,
    inbox: Inbox,
    customer_id: int,
    now: datetime,
    *,
    follows: Ticket | None,
) -> Ticket:
    return Ticket(
        customer_id=customer_id,
        inbox=inbox,
        team_id=inbox.team_id,
        subject=(inbound.subject.strip() or _preview(inbound.text, 80))[:300],
        status=Status.NEW,
        last_channel=inbound.channel,
        created_at=now,
        follows=follows,
    )


def _hinted_ticket(inbound: InboundMessage) -> Ticket | None:
    """The ticket the message says it belongs to, following merges; None without a hint."""
    ticket = None
    if inbound.ticket_hint:
        ticket = Ticket.objects.filter(pk=inbound.ticket_hint).first()
    if ticket is None and inbound.thread_hints:
        # Our own sent messages and the inbound ones we stored, in one indexed
        # lookup on (inbox, external_id). The most relevant hint wins.
        found = {
            message.external_id: message.ticket
            for message in Message.objects.filter(
                inbox_id=inbound.inbox_id, external_id__in=inbound.thread_hints
            ).select_related("ticket")
        }
        ticket = next((found[h] for h in inbound.thread_hints if h in found), None)
    if ticket is None and inbound.ticket_reference:
        ticket = Ticket.objects.filter(pk=inbound.ticket_reference).first()
    if ticket is None and inbound.thread_key:
        ticket_id = (
            Message.objects.filter(inbox_id=inbound.inbox_id, thread_key=inbound.thread_key)
            .order_by("-id")
            .values_list("ticket_id", flat=True)
            .first()
        )
        ticket = Ticket.objects.filter(pk=ticket_id).first() if ticket_id else None
    if ticket is None:
        return None
    # Follow merges to the ticket that lives on.
    for _hop in range(10):
        if not ticket.merged_into_id:
            break
        ticket = Ticket.objects.get(pk=ticket.merged_into_id)
    return ticket


def _takes_part(ticket: Ticket, customer_id: int) -> bool:
    """Whether this customer may add to the ticket: its customer or a participant."""
    if ticket.customer_id == customer_id:
        return True
    return TicketParticipant.objects.filter(ticket=ticket, customer_id=customer_id).exists()


def _add_participants(
    ticket: Ticket, people: tuple[SenderIdentity, ...], exclude: set[int], now: datetime
) -> list[int]:
    """Make the people on Cc participants of the ticket; return the customers added."""
    added = []
    for person in people:
        value = Identity.normalize(person.kind, person.value)
        identity = Identity.objects.filter(kind=person.kind, value=value).first()
        if identity is None:
            try:
                with transaction.atomic():
                    customer = Customer.objects.create(
                        name=person.name[:200], created_at=now, locale=ticket.inbox.language
                    )
                    identity = Identity.objects.create(
                        customer=customer, kind=person.kind, value=value, created_at=now
                    )
            except IntegrityError:
                identity = Identity.objects.get(kind=person.kind, value=value)
        customer_id = identity.customer_id
        if customer_id in exclude:
            continue
        exclude.add(customer_id)
        _participant, created = TicketParticipant.objects.get_or_create(
            ticket=ticket, customer_id=customer_id, defaults={"created_at": now}
        )
        if created:
            added.append(customer_id)
    return added


def add_attachments(message: Message, attachments: tuple[InboundAttachment, ...]) -> None:
    """Store files of an inbound message: at ingest, or later once fetched (MMS media)."""
    for item in attachments:
        name = safe_filename(item.filename)
        message.attachments.create(
            file=ContentFile(item.content, name=name),
            filename=name,
            content_type=item.content_type[:100] or "application/octet-stream",
            size=len(item.content),
            content_id=item.content_id[:255],
        )


def _preview(text: str, length: int = PREVIEW_LENGTH) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= length else flat[: length - 1] + "…"
