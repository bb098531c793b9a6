"""The chat widget on customers' web sites.

Visitors are identified by a signed visitor token the widget keeps in
localStorage. Each message carries a client id, so a resend after a
reconnect is stored once. Replies are pushed to the visitor's socket group
and kept for the HTTP fallback to fetch.
"""

from __future__ import annotations

from django.core import signing

from helpdesk.live import publish
from tickets.ingest import InboundMessage, SenderIdentity
from tickets.models import Channel, IdentityKind, Inbox, Message

from ..base import Adapter, MalformedError, SendResult, load_json_object

VISITOR_SALT = "widget.visitor"
MAX_BODY_CHARS = 5000


def visitor_group(inbox_key: str, visitor_id: str) -> str:
    return f"widget.{inbox_key}.{visitor_id}"[:99]


def sign_visitor(inbox: Inbox, visitor_id: str) -> str:
    return signing.dumps({"i": inbox.pk, "v": visitor_id}, salt=VISITOR_SALT)


def read_visitor(inbox: Inbox, token: str) -> str | None:
    try:
        data = signing.loads(token, salt=VISITOR_SALT)
    except signing.BadSignature:
        return None
    if not isinstance(data, dict) or data.get("i") != inbox.pk:
        return None
    return str(data.get("v")) or None


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
        visitor = message.ticket.customer.identities.filter(kind=IdentityKind.WIDGET).first()
        if visitor is not None:
            publish(
                visitor_group(message.inbox.key, visitor.value),
                {
                    "type": "widget.message",
                    "message": {
                        "id": message.pk,
                        "body": message.body_text,
                        "author": "agent",
                        "name": message.author.get_full_name() if message.author else "",
                        "created_at": message.created_at.isoformat(),
                    },
                },
            )
        # Kept on the server for the visitor's next fetch either way.
        return SendResult(external_id=f"widget-out-{message.pk}")


def parse_payload(body: bytes) -> dict:
    payload = load_json_object(body)
    text = payload.get("body")
    if not isinstance(text, str) or not text.strip():
        raise MalformedError("'body' is required")
    if len(text) > MAX_BODY_CHARS:
        raise MalformedError(f"'body' is longer than {MAX_BODY_CHARS} characters")
    client_id = payload.get("client_id")
    if not isinstance(client_id, str) or not 0 < len(client_id) <= 64:
        raise MalformedError("'client_id' is required (at most 64 characters)")
    payload["body"] = text.strip()
    return payload
