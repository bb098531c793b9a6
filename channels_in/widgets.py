"""The chat widget's server side, shared by the socket (widget_consumer.py) and
the HTTP fallback (widget_views.py): origins, rate limits, the one path a
visitor's message is stored by, history, read receipts, typing and identify.

docs/widget-protocol.md is the contract; the visitor token and the message
object are in adapters/widget.py.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import IO, Any
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from agents.live import ticket_group
from agents.presence import any_agent_online
from helpdesk.live import publish
from tickets.delivery import record_delivery
from tickets.merge import MergeError, link_identity, merge_customers
from tickets.models import (
    Channel,
    Customer,
    Delivery,
    Direction,
    Identity,
    IdentityKind,
    Inbox,
    Message,
    Team,
    Ticket,
)

from .adapters.widget import (
    MAX_BODY_CHARS,
    FileTooLargeError,
    NoFileError,
    UploadsDisabledError,
    agent_name,
    build_upload_payload,
    parse_payload,
    serialize_message,
    sign_visitor,
    upload_max_bytes,
    uploads_enabled,
    visitor_groups,
)
from .base import Accepted, RateLimitedError
from .limits import admit
from .pipeline import process_raw, store_raw

FRAME_MAX_BYTES = 64 * 1024
VISITOR_MESSAGES_PER_MINUTE = 20
IP_MESSAGES_PER_MINUTE = 60
IDENTIFY_PER_MINUTE = 10
HISTORY_LIMIT = 100
# A read receipt marks at most this many of the newest unread agent messages.
READ_BATCH = 100
DEFAULT_COLOR = "#2563eb"

# Visitor-facing sentences, one per error code of the protocol.
_ERRORS = {
    "bad_frame": _("The chat could not understand this message."),
    "malformed": _("The chat could not understand this message."),
    "too_large": _("A message can be at most %(max)s characters long."),
    "rate_limited": _("You are sending messages too quickly. Please wait a minute."),
    "empty": _("The message is empty."),
    "unavailable": _("The message could not be delivered right now. Please try again."),
    "forbidden_origin": _("This chat cannot be used on this site."),
    "unknown_inbox": _("This chat is not available."),
    "bad_after": _("The chat could not understand this message."),
}


def error_detail(code: str, language: str) -> str:
    """The sentence for an error code, in the chat's language."""
    with translation.override(language):
        return str(_ERRORS.get(code, _ERRORS["bad_frame"])) % {"max": MAX_BODY_CHARS}


def find_widget_inbox(key: str) -> Inbox | None:
    if not key or len(key) > 40:
        return None
    return Inbox.objects.filter(key=key, channel=Channel.WIDGET, is_active=True).first()


def new_visitor() -> str:
    return secrets.token_hex(12)


# --- origins -----------------------------------------------------------------


def normalize_origin(value: str | None) -> str | None:
    """scheme://host[:port], lower case, without a default port; None if it is not one."""
    if not value:
        return None
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    try:
        port = parts.port
    except ValueError:
        return None
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    if port is None or port == (443 if parts.scheme == "https" else 80):
        return f"{parts.scheme}://{host}"
    return f"{parts.scheme}://{host}:{port}"


def origin_allowed(inbox: Inbox, origin: str | None, host: str | None = None) -> bool:
    """The inbox's configured sites, and always the helpdesk itself: PUBLIC_BASE_URL, or
    the host the request was made to (a page of ours, e.g. the agents' chat preview; a
    browser cannot forge either header). No Origin, no entry."""
    candidate = normalize_origin(origin)
    if candidate is None:
        return False
    configured = inbox.config.get("allowed_origins") or []
    allowed = {normalize_origin(item) for item in configured if isinstance(item, str)}
    allowed.add(normalize_origin(settings.PUBLIC_BASE_URL))
    if host:
        scheme = candidate.split("://", 1)[0]
        allowed.add(normalize_origin(f"{scheme}://{host}"))
    return candidate in allowed


# --- rate limits (Django's cache: locmem embedded, Redis in production) ----------


def admit_message(*, visitor: str, ip: str) -> bool:
    """Count one message against the visitor's and the address's minute; False if over.

    A visitor over their own limit does not use up the address's: others behind
    the same address (an office, a mobile carrier) keep chatting.
    """
    if not admit(f"widget.rate.visitor.{visitor}", VISITOR_MESSAGES_PER_MINUTE):
        return False
    return admit(f"widget.rate.ip.{ip}", IP_MESSAGES_PER_MINUTE)


def admit_identify(*, visitor: str) -> bool:
    return admit(f"widget.rate.identify.{visitor}", IDENTIFY_PER_MINUTE)


# --- agents online -------------------------------------------------------------


def agents_online(team: Team | int | None = None) -> bool:
    """Someone can answer now: an agent set "Online" with a page open (agents/presence.py).

    With a team (the inbox's), only that team's agents count; an inbox without a
    team is answered by anyone.
    """
    return any_agent_online(team)


def _greeting(value: Any, language: str) -> str:
    """The greeting in the inbox's language: config holds one text or one per language."""
    if isinstance(value, dict):
        value = value.get(language) or value.get("en") or next(iter(value.values()), "")
    return str(value or "")[:500]


def session_frame(inbox: Inbox, visitor: str) -> dict[str, Any]:
    config = inbox.config or {}
    return {
        "type": "session",
        "visitor_token": sign_visitor(inbox, visitor),
        "inbox": {
            "name": inbox.name,
            "greeting": _greeting(config.get("greeting"), inbox.language),
            "color": str(config.get("color") or DEFAULT_COLOR),
            "language": inbox.language,
        },
        "agents_online": agents_online(inbox.team_id),
    }


# --- messages --------------------------------------------------------------------


@dataclass(frozen=True)
class Received:
    message: Message | None
    ticket_id: int | None
    customer_id: int | None
    duplicate: bool


def receive_visitor_message(
    *, inbox: Inbox, visitor: str, ip: str, raw: bytes, exclude_channel: str = ""
) -> Received:
    """Store a visitor's message once per client id, the same way for socket and HTTP.

    Raises a WebhookError (malformed, too_large, empty, rate_limited) for a refused
    one, with nothing stored; DatabaseError when the raw payload could not be committed.
    The visitor's other tabs hear of a new message; `exclude_channel` (the sending
    socket) gets an ack instead.
    """
    payload = parse_payload(raw)
    if not admit_message(visitor=visitor, ip=ip):
        raise RateLimitedError("more than the allowed messages a minute")
    accepted = Accepted(
        provider_key=f"{visitor}:{payload['client_id']}",
        body=raw,
        content_type="application/json",
        meta={"visitor": visitor},
    )
    stored = store_raw(inbox=inbox, accepted=accepted)
    result = process_raw(stored.raw.pk, raw=stored.raw)
    if result is None:
        return Received(message=None, ticket_id=None, customer_id=None, duplicate=stored.duplicate)
    if not stored.duplicate:
        event = {
            "type": "widget.message",
            "message": serialize_message(result.message),
            "exclude": exclude_channel,
        }
        for group in visitor_groups(inbox, result.ticket.customer_id):
            publish(group, event)
    return Received(
        message=result.message,
        ticket_id=result.ticket.pk,
        customer_id=result.ticket.customer_id,
        duplicate=stored.duplicate or result.duplicate,
    )


def receive_visitor_upload(
    *,
    inbox: Inbox,
    visitor: str,
    ip: str,
    client_id: str,
    upload: IO[bytes] | None,
    filename: str = "",
    body: str = "",
    name: str = "",
) -> Received:
    """Check a visitor's file and store it as a message's attachment, once per client id.

    Refused with nothing stored: UploadsDisabledError (the inbox takes no files),
    NoFileError, FileTooLargeError (over the inbox's upload limit),
    UnsupportedTypeError (the bytes are not an allowed picture or a PDF), and
    whatever receive_visitor_message refuses (rate limit, client id, body).
    """
    if not uploads_enabled(inbox):
        raise UploadsDisabledError("this chat takes no files")
    if upload is None:
        raise NoFileError("'file' is required")
    limit = upload_max_bytes(inbox)
    content = upload.read(limit + 1)
    if len(content) > limit:
        raise FileTooLargeError(f"the file is larger than {limit} bytes")
    if not content:
        raise NoFileError("the file is empty")
    raw = build_upload_payload(
        client_id=client_id, body=body, name=name, filename=filename, content=content
    )
    return receive_visitor_message(inbox=inbox, visitor=visitor, ip=ip, raw=raw)


def visitor_customer_id(visitor: str) -> int | None:
    return (
        Identity.objects.filter(kind=IdentityKind.WIDGET, value=visitor)
        .values_list("customer_id", flat=True)
        .first()
    )


def list_history(
    *, inbox: Inbox, visitor: str, after: int = 0, limit: int = HISTORY_LIMIT
) -> tuple[list[dict[str, Any]], bool]:
    """The visitor's conversation in this chat after a message id, oldest first, and has_more."""
    customer_id = visitor_customer_id(visitor)
    if customer_id is None:
        return [], False
    rows = list(
        Message.objects.filter(
            ticket__customer_id=customer_id, inbox=inbox, is_note=False, id__gt=after
        )
        .select_related("author", "inbox")
        .prefetch_related("attachments")
        .order_by("id")[: limit + 1]
    )
    return [serialize_message(m) for m in rows[:limit]], len(rows) > limit


def mark_read(*, inbox: Inbox, visitor: str, up_to: int) -> int:
    """The visitor has seen the agent messages of their own conversation up to `up_to`."""
    customer_id = visitor_customer_id(visitor)
    if customer_id is None:
        return 0
    unread = (
        Message.objects.filter(
            ticket__customer_id=customer_id,
            inbox=inbox,
            direction=Direction.OUT,
            is_note=False,
            id__lte=up_to,
            delivery_state__in=[
                Delivery.PENDING,
                Delivery.SENDING,
                Delivery.UNKNOWN,
                Delivery.SENT,
                Delivery.DELIVERED,
            ],
        )
        .order_by("-id")
        .values_list("pk", flat=True)[:READ_BATCH]
    )
    return sum(record_delivery(message_id=pk, state=Delivery.READ) for pk in list(unread))


# --- typing and reading, live only ------------------------------------------------


def find_conversation(*, inbox: Inbox, visitor: str) -> tuple[int, int] | None:
    """(ticket id, customer id) of the visitor's latest ticket in this chat."""
    customer_id = visitor_customer_id(visitor)
    if customer_id is None:
        return None
    ticket_id = (
        Ticket.objects.filter(customer_id=customer_id, inbox=inbox, merged_into__isnull=True)
        .order_by("-last_activity_at", "-id")
        .values_list("pk", flat=True)
        .first()
    )
    return (ticket_id, customer_id) if ticket_id is not None else None


def publish_visitor_typing(*, ticket_id: int, customer_id: int, state: bool) -> None:
    """Tell the agents watching the ticket that the visitor is (not) typing."""
    publish(
        ticket_group(ticket_id),
        {
            "type": "ticket.notice",
            "ticket": ticket_id,
            "customer": customer_id,
            "kind": "typing",
            "state": state,
        },
    )


def publish_agent_typing(ticket: Ticket, user: AbstractBaseUser, state: bool) -> None:
    """Tell the ticket's chat visitor that an agent is (not) typing."""
    inbox = ticket.inbox
    if inbox.channel != Channel.WIDGET:
        return
    event = {"type": "widget.typing", "state": bool(state), "name": agent_name(user)}
    for group in visitor_groups(inbox, ticket.customer_id):
        publish(group, event)


def publish_agent_read(ticket: Ticket, up_to: int) -> None:
    """Tell the ticket's chat visitor that an agent has seen their messages up to `up_to`."""
    inbox = ticket.inbox
    if inbox.channel != Channel.WIDGET:
        return
    for group in visitor_groups(inbox, ticket.customer_id):
        publish(group, {"type": "widget.read", "up_to": up_to})


# --- identify ------------------------------------------------------------------


def identity_signature(inbox: Inbox, email: str) -> str:
    """hex(HMAC-SHA256(identity_secret, email)): what the customer's site computes."""
    secret = str(inbox.secrets.get("identity_secret") or "")
    return hmac.new(secret.encode(), email.encode(), hashlib.sha256).hexdigest()


def signature_valid(inbox: Inbox, email: str, signature: str) -> bool:
    if not signature or not inbox.secrets.get("identity_secret"):
        return False
    expected = identity_signature(inbox, email).encode()
    return hmac.compare_digest(expected, signature.strip().lower().encode())


def identify_visitor(
    *, inbox: Inbox, visitor: str, email: str, name: str = "", signature: str = ""
) -> str:
    """Link the visitor to the customer with a site-verified email, or keep a claim.

    With a valid signature the visitor's customer and the customer owning the
    email become one (the email's owner wins). A visitor whose customer already
    has another verified email (someone else signed in on the same browser) is
    not merged: it continues as a new visitor of the email's customer. Returns
    the visitor id to use from now on. Without a valid signature the email is
    only a claim (_store_claim) and nothing is merged; a verified sign-in later
    takes an address that was only claimed away from whoever claimed it.
    """
    email = email.strip()
    value = Identity.normalize(IdentityKind.EMAIL, email)
    name = name.strip()[:200]
    verified = signature_valid(inbox, email, signature)
    for attempt in range(3):
        try:
            with transaction.atomic():
                if verified:
                    return _link_verified_email(inbox, visitor, value, name)
                _store_claim(inbox, visitor, value, name)
                return visitor
        except MergeError:
            # A parallel identify or first message took a row first: read again.
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _visitor_customer(inbox: Inbox, visitor: str, name: str) -> Customer:
    customer_id = visitor_customer_id(visitor)
    if customer_id is not None:
        return Customer.objects.select_for_update().get(pk=customer_id)
    now = timezone.now()
    customer = Customer.objects.create(
        name=name, locale=inbox.language, created_at=now, last_seen_at=now
    )
    link_identity(customer=customer, kind=IdentityKind.WIDGET, value=visitor)
    return customer


def _link_verified_email(inbox: Inbox, visitor: str, email: str, name: str) -> str:
    owner = Identity.objects.filter(kind=IdentityKind.EMAIL, value=email).first()
    current_id = visitor_customer_id(visitor)
    if current_id is not None:
        others = Identity.objects.filter(
            customer_id=current_id, kind=IdentityKind.EMAIL, verified=True
        ).exclude(value=email)
        if others.exists():
            visitor, current_id = new_visitor(), None
    if owner is not None and owner.customer_id != current_id and not owner.verified:
        holder = Customer.objects.filter(pk=owner.customer_id)
        attributes = holder.values_list("attributes", flat=True).first() or {}
        if attributes.get("claimed_email") == owner.value:
            # Someone else only typed this address into a chat; the site now vouches
            # for its owner. The proof wins, and the owner never sees that chat.
            holder.update(attributes={k: v for k, v in attributes.items() if k != "claimed_email"})
            owner.delete()
            owner = None
    if owner is None:
        customer = _visitor_customer(inbox, visitor, name)
        link_identity(customer=customer, kind=IdentityKind.EMAIL, value=email, verified=True)
    else:
        customer = Customer.objects.get(pk=owner.customer_id).live()
        if current_id is None:
            link_identity(customer=customer, kind=IdentityKind.WIDGET, value=visitor)
        elif current_id != customer.pk:
            source = Customer.objects.get(pk=current_id)
            customer = merge_customers(source=source, target=customer)
        if not owner.verified:
            Identity.objects.filter(pk=owner.pk).update(verified=True)
    if name and not customer.name:
        Customer.objects.filter(pk=customer.pk, name="").update(name=name)
    return visitor


def _store_claim(inbox: Inbox, visitor: str, email: str, name: str) -> Customer:
    """Keep the typed address as a claim; make it a way to reach them if nobody has it.

    The address is never a reason to merge: a visitor who types someone else's
    address gets nobody's history. When no customer has it yet, it becomes an
    unverified email identity of the visitor's customer, so an agent can answer
    by email and the answer threads back here.
    """
    customer = _visitor_customer(inbox, visitor, name)
    customer.attributes = {**customer.attributes, "claimed_email": email}
    fields = ["attributes"]
    if name and not customer.name:
        customer.name = name
        fields.append("name")
    customer.save(update_fields=fields)
    if not Identity.objects.filter(kind=IdentityKind.EMAIL, value=email).exists():
        link_identity(customer=customer, kind=IdentityKind.EMAIL, value=email)
    return customer
