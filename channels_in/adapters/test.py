"""A channel for operators' scripts and tests: JSON in, nowhere out.

POST /inbound/test/<key>/ with `Authorization: Bearer <token>` and
{"id": "...", "from": "someone@example.com", "name": "...", "text": "...",
 "html": "...", "subject": "...", "in_reply_to": ["..."]}.
Replies are marked sent without leaving the machine.
"""

from __future__ import annotations

from django.http import HttpRequest

from tickets.ingest import InboundMessage, SenderIdentity
from tickets.models import Channel, IdentityKind, Inbox, Message

from ..base import (
    Accepted,
    Adapter,
    MalformedError,
    SendResult,
    check_bearer_token,
    load_json_object,
)


class TestAdapter(Adapter):
    channel = Channel.TEST

    def accept(self, request: HttpRequest, inbox: Inbox) -> Accepted:
        check_bearer_token(request, inbox)
        payload = _load(request.body)
        return Accepted(
            provider_key=payload["id"],
            body=request.body,
            content_type="application/json",
            sender=payload["from"],
        )

    def parse(self, body: bytes, meta: dict, inbox: Inbox) -> InboundMessage:
        payload = _load(body)
        return InboundMessage(
            inbox_id=inbox.pk,
            channel=self.channel,
            sender=SenderIdentity(
                kind=IdentityKind.TEST, value=payload["from"], name=str(payload.get("name", ""))
            ),
            external_id=payload["id"],
            text=str(payload.get("text", "")),
            html=str(payload.get("html", "")),
            subject=str(payload.get("subject", "")),
            thread_hints=tuple(str(h) for h in payload.get("in_reply_to", []) or []),
            locale=str(payload.get("locale", "")),
        )

    def send(self, message: Message) -> SendResult:
        return SendResult(external_id=f"test-out-{message.pk}")


def _load(body: bytes) -> dict:
    payload = load_json_object(body)
    for key in ("id", "from"):
        if not isinstance(payload.get(key), str) or not payload[key].strip():
            raise MalformedError(f"'{key}' is required and must be a non-empty string")
    if not (payload.get("text") or payload.get("html")):
        raise MalformedError("'text' or 'html' is required")
    if len(payload["id"]) > 255 or len(payload["from"]) > 320:
        raise MalformedError("'id' or 'from' is too long")
    return payload
