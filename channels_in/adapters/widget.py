"""The chat widget on customers' web sites.

Visitors are identified by a signed visitor token the widget keeps in
localStorage. Each message carries a client id, so a resend after a
reconnect is stored once. Replies are pushed to the visitor's socket group
and kept for the HTTP fallback to fetch. The frames are described in
docs/widget-protocol.md; `serialize_message` is its `message` object.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core import signing
from django.urls import NoReverseMatch, reverse

from helpdesk.live import publish
from tickets.ingest import InboundMessage, SenderIdentity
from tickets.models import Attachment, Channel, Direction, Identity, IdentityKind, Inbox, Message

from ..base import Adapter, MalformedError, SendResult, TooLargeError, load_json_object

VISITOR_SALT = "widget.visitor"
FILE_SALT = "widget.file"
MAX_BODY_CHARS = 5000
MAX_CLIENT_ID = 64


class EmptyBodyError(MalformedError):
    code = "empty"


def visitor_group(inbox_key: str, visitor_id: str) -> str:
    return f"widget.{inbox_key}.{visitor_id}"[:99]


def visitor_groups(inbox: Inbox, customer_id: int) -> list[str]:
    """The socket groups of every chat visitor (browser) of the customer: after a
    verified identify one customer may chat from several devices."""
    values = Identity.objects.filter(customer_id=customer_id, kind=IdentityKind.WIDGET)
    return [visitor_group(inbox.key, v) for v in values.values_list("value", flat=True)]


def sign_visitor(inbox: Inbox, visitor_id: str) -> str:
    return signing.dumps({"i": inbox.pk, "v": visitor_id}, salt=VISITOR_SALT)


def read_visitor(inbox: Inbox, token: str) -> str | None:
    try:
        data = signing.loads(token, salt=VISITOR_SALT)
    except signing.BadSignature:
        return None
    if not isinstance(data, dict) or data.get("i") != inbox.pk or not data.get("v"):
        return None
    return str(data["v"])


def agent_name(user: AbstractBaseUser | None) -> str:
    """What a visitor sees of an agent: the first name only."""
    if user is None:
        return ""
    first = str(getattr(user, "first_name", "") or "").strip()
    if first:
        return first
    full = user.get_full_name().strip() if hasattr(user, "get_full_name") else ""
    return full.split()[0] if full else ""


def serialize_message(message: Message) -> dict[str, Any]:
    """The protocol's `message` object. The body is plain text; the widget never renders HTML."""
    inbound = message.direction == Direction.IN
    data: dict[str, Any] = {
        "id": message.pk,
        "body": message.body_text,
        "author": "visitor" if inbound else "agent",
        "name": "" if inbound else agent_name(message.author),
        "created_at": message.created_at.isoformat(),
        "attachments": [
            {
                "name": item.filename,
                "url": attachment_url(message.inbox, item),
                "content_type": item.content_type,
                "size": item.size,
            }
            for item in message.attachments.all()
        ],
    }
    if inbound:
        # external_id is "<visitor>:<client id>" (see WidgetAdapter.parse).
        data["client_id"] = (message.external_id or "").partition(":")[2]
    return data


def attachment_url(inbox: Inbox, attachment: Attachment) -> str:
    """A signed download link the visitor may follow (empty until the route is wired)."""
    token = signing.dumps({"i": inbox.pk, "a": attachment.pk}, salt=FILE_SALT)
    try:
        path = reverse("channels_in:widget_file", kwargs={"key": inbox.key, "token": token})
    except NoReverseMatch:
        return ""
    return settings.PUBLIC_BASE_URL + path


def read_attachment_token(inbox: Inbox, token: str) -> int | None:
    try:
        data = signing.loads(token, salt=FILE_SALT)
    except signing.BadSignature:
        return None
    if not isinstance(data, dict) or data.get("i") != inbox.pk:
        return None
    value = data.get("a")
    return value if isinstance(value, int) else None


class WidgetAdapter(Adapter):
    channel = Channel.WIDGET

    def parse(self, body: bytes, meta: dict, inbox: Inbox) -> InboundMessage:
        payload = parse_payload(body)
        return InboundMessage(
            inbox_id=inbox.pk,
            channel=self.channel,
            sender=SenderIdentity(
                kind=IdentityKind.WIDGET,
                value=meta["visitor"],
                name=str(payload.get("name", ""))[:200],
            ),
            external_id=f"{meta['visitor']}:{payload['client_id']}",
            text=payload["body"],
            locale=str(payload.get("locale", ""))[:8],
        )

    def send(self, message: Message) -> SendResult:
        event = {"type": "widget.message", "message": serialize_message(message)}
        for group in visitor_groups(message.inbox, message.ticket.customer_id):
            publish(group, event)
        # Kept on the server for the visitor's next fetch either way.
        return SendResult(external_id=f"widget-out-{message.pk}")


def parse_payload(body: bytes) -> dict:
    """A visitor's message (a socket frame or a fallback POST body); WebhookError if refused."""
    payload = load_json_object(body)
    text = payload.get("body")
    if not isinstance(text, str):
        raise MalformedError("'body' is required")
    if len(text) > MAX_BODY_CHARS:
        raise TooLargeError(f"'body' is longer than {MAX_BODY_CHARS} characters")
    if not text.strip():
        raise EmptyBodyError("'body' is empty")
    client_id = payload.get("client_id")
    if not isinstance(client_id, str) or not 0 < len(client_id) <= MAX_CLIENT_ID:
        raise MalformedError(f"'client_id' is required (at most {MAX_CLIENT_ID} characters)")
    if "name" in payload and not isinstance(payload["name"], str):
        raise MalformedError("'name' must be a string")
    payload["body"] = text.strip()
    return payload
