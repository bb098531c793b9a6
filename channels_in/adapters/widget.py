"""The chat widget on customers' web sites.

Visitors are identified by a signed visitor token the widget keeps in
localStorage. Each message carries a client id, so a resend after a
reconnect is stored once. Replies are pushed to the visitor's socket group
and kept for the HTTP fallback to fetch. The frames are described in
docs/widget-protocol.md; `serialize_message` is its `message` object.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core import signing
from django.urls import NoReverseMatch, reverse
from django.utils.crypto import constant_time_compare

from helpdesk.live import publish
from tickets.files import safe_filename
from tickets.ingest import InboundAttachment, InboundMessage, SenderIdentity
from tickets.models import Attachment, Channel, Direction, Identity, IdentityKind, Inbox, Message

from ..base import (
    Adapter,
    MalformedError,
    SendResult,
    TooLargeError,
    WebhookError,
    load_json_object,
)

VISITOR_SALT = "widget.visitor"
FILE_SALT = "widget.file"
UPLOAD_SALT = "widget.upload"
MAX_BODY_CHARS = 5000
MAX_CLIENT_ID = 64
UPLOAD_MAX_BYTES = 10 * 1024 * 1024
# What a visitor may send, told by the file's first bytes (never by the name or
# the browser's word), and the extension its stored name gets.
UPLOAD_TYPES = {
    "image/jpeg": (".jpg", ".jpeg"),
    "image/png": (".png",),
    "image/gif": (".gif",),
    "image/webp": (".webp",),
    "image/heic": (".heic", ".heif"),
    "application/pdf": (".pdf",),
}
# ISO base media brands of HEIF pictures (iPhone photos); AVIF is not among them.
_HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1"}


class EmptyBodyError(MalformedError):
    code = "empty"


class UploadsDisabledError(WebhookError):
    status = 403
    code = "uploads_disabled"


class UnsupportedTypeError(WebhookError):
    status = 415
    code = "unsupported_type"


class NoFileError(MalformedError):
    code = "no_file"


class FileTooLargeError(TooLargeError):
    """An upload over the inbox's limit (TooLargeError alone: the message's body)."""


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
            attachments=(payload["file"],) if payload.get("file") else (),
            meta=_self_service_meta(payload),
        )

    def send(self, message: Message) -> SendResult:
        event = {"type": "widget.message", "message": serialize_message(message)}
        for group in visitor_groups(message.inbox, message.ticket.customer_id):
            publish(group, event)
        # Kept on the server for the visitor's next fetch either way.
        return SendResult(external_id=f"widget-out-{message.pk}")


def article_ids(value: object, limit: int = 10) -> list[int]:
    """Article ids a visitor's frame names: positive integers only, at most `limit`."""
    if not isinstance(value, list):
        return []
    ids = [i for i in value[:50] if isinstance(i, int) and not isinstance(i, bool) and i > 0]
    return ids[:limit]


def _self_service_meta(payload: dict) -> dict:
    """What the visitor did before writing (channels_in/self_service.py): asked for a
    person, the articles shown while typing and those opened, their language."""
    asked: dict[str, Any] = {}
    if payload.get("handoff") is True:
        asked["handoff"] = True
    for key in ("articles", "opened"):
        ids = article_ids(payload.get(key))
        if ids:
            asked[key] = ids
    if payload.get("language") in ("en", "pl", "cs"):
        asked["language"] = payload["language"]
    return {"self_service": asked} if asked else {}


def parse_payload(body: bytes) -> dict:
    """A visitor's message (a socket frame or a fallback POST body); WebhookError if refused."""
    payload = load_json_object(body)
    text = payload.get("body")
    if not isinstance(text, str):
        raise MalformedError("'body' is required")
    if len(text) > MAX_BODY_CHARS:
        raise TooLargeError(f"'body' is longer than {MAX_BODY_CHARS} characters")
    client_id = payload.get("client_id")
    if not isinstance(client_id, str) or not 0 < len(client_id) <= MAX_CLIENT_ID:
        raise MalformedError(f"'client_id' is required (at most {MAX_CLIENT_ID} characters)")
    payload["file"] = read_file_field(payload.get("file"), client_id) if "file" in payload else None
    if not text.strip() and payload["file"] is None:
        raise EmptyBodyError("'body' is empty")
    if "name" in payload and not isinstance(payload["name"], str):
        raise MalformedError("'name' must be a string")
    payload["body"] = text.strip()
    return payload


# --- uploads -------------------------------------------------------------------------
# The upload endpoint checks a file, then stores it like any message: its raw
# payload is the message's JSON with the file in base64 and the server's
# signature over it, so a replay rebuilds the same attachment and a socket frame
# cannot smuggle in a file that skipped the checks.


def uploads_enabled(inbox: Inbox) -> bool:
    return isinstance(inbox.config, dict) and inbox.config.get("uploads") is True


def upload_max_bytes(inbox: Inbox) -> int:
    """config["upload_max_bytes"] when it is a positive whole number, else 10 MB."""
    value = inbox.config.get("upload_max_bytes") if isinstance(inbox.config, dict) else None
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    return UPLOAD_MAX_BYTES


def sniff_content_type(content: bytes) -> str | None:
    """The allowed type the bytes are, by their magic number; None for anything else."""
    if content.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if content.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if content[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if content[:4] == b"RIFF" and content[8:12] == b"WEBP":
        return "image/webp"
    if content[4:8] == b"ftyp" and content[8:12] in _HEIF_BRANDS:
        return "image/heic"
    if content.startswith(b"%PDF-"):
        return "application/pdf"
    return None


def upload_filename(name: str, content_type: str) -> str:
    """A safe name whose extension says what the bytes are ("scan.pdf" of a PNG: "scan.png")."""
    default = "document" if content_type == "application/pdf" else "photo"
    name = safe_filename(name, default=default)
    extensions = UPLOAD_TYPES[content_type]
    stem, dot, ext = name.rpartition(".")
    if dot and stem and f".{ext.lower()}" in extensions:
        return name
    return safe_filename((stem if dot and stem else name)[:140] + extensions[0], default=default)


def _file_claim(client_id: str, name: str, content_type: str, data: str) -> str:
    digest = hashlib.sha256(data.encode()).hexdigest()
    return json.dumps([client_id, content_type, name, digest])


def build_upload_payload(
    *, client_id: str, body: str, name: str, filename: str, content: bytes
) -> bytes:
    """The raw payload of a checked upload (UnsupportedTypeError for a type not allowed)."""
    content_type = sniff_content_type(content)
    if content_type is None:
        raise UnsupportedTypeError("the file is not a JPEG, PNG, GIF, WebP, HEIC picture or a PDF")
    filename = upload_filename(filename, content_type)
    data = base64.b64encode(content).decode()
    payload: dict[str, Any] = {
        "body": body,
        "client_id": client_id,
        "file": {
            "name": filename,
            "content_type": content_type,
            "data": data,
            "sig": signing.Signer(salt=UPLOAD_SALT).sign(
                _file_claim(client_id, filename, content_type, data)
            ),
        },
    }
    if name:
        payload["name"] = name
    return json.dumps(payload).encode()


def read_file_field(value: object, client_id: str) -> InboundAttachment:
    """The file of an upload's payload, if the server signed it; MalformedError otherwise."""
    if not isinstance(value, dict) or not all(
        isinstance(value.get(k), str) for k in ("name", "content_type", "data", "sig")
    ):
        raise MalformedError("'file' is not an upload")
    name, content_type, data = value["name"], value["content_type"], value["data"]
    try:
        # unsign() also accepts SECRET_KEY_FALLBACKS: a replay after a key rotation works.
        claim = signing.Signer(salt=UPLOAD_SALT).unsign(value["sig"])
    except signing.BadSignature as exc:
        raise MalformedError("'file' was not checked by this server") from exc
    if not constant_time_compare(claim, _file_claim(client_id, name, content_type, data)):
        raise MalformedError("'file' was not checked by this server")
    try:
        content = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise MalformedError("'file' is not base64") from exc
    return InboundAttachment(filename=name, content_type=content_type, content=content)
