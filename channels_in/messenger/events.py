"""Meta's webhook payloads in our terms. No database, no network.

Meta batches: one POST holds `entry[]` (one per page and moment), each with
`messaging[]` events. Each event is stored on its own (its own provider key,
so a replay of any one stores nothing new) as {"page_id": ..., "event": ...}
and read back from there by the adapter's parse().
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import PurePosixPath
from typing import TypeGuard
from urllib.parse import urlsplit

from tickets.ingest import InboundMessage, SenderIdentity
from tickets.models import Channel, Delivery, IdentityKind

from ..base import DeliveryReport, MalformedError, load_json_object

MESSAGE = "message"
ECHO = "echo"
DELIVERY = "delivery"
READ = "read"
POSTBACK = "postback"
OTHER = "other"

# Attachment types Meta hosts on its CDN for us to download; the others
# (template, fallback, location, reel, ...) carry no file.
MEDIA_TYPES = ("image", "video", "audio", "file")


@dataclass(frozen=True)
class Event:
    """One messaging event of one page, as Meta sent it (`data`)."""

    kind: str
    page_id: str
    # The PSID of the person for their events; the page for an echo of ours.
    sender: str
    data: dict

    @property
    def key(self) -> str:
        """The provider key the event is stored under once (RawInbound)."""
        if self.kind == MESSAGE:
            return self.mid
        if self.kind == ECHO:
            return f"echo:{self.mid}"
        if self.kind in (DELIVERY, READ):
            return f"{self.kind}:{self.sender}:{self.data[self.kind]['watermark']}"
        if self.kind == POSTBACK:
            mid = self.data["postback"].get("mid")
            if isinstance(mid, str) and mid:
                return f"postback:{mid}"
            return f"postback:{self.sender}:{self.data.get('timestamp', '')}"
        return f"other:{self.sender}:{self.data.get('timestamp', '')}"

    @property
    def mid(self) -> str:
        return str(self.data["message"]["mid"])

    def stored_body(self) -> bytes:
        return json.dumps({"page_id": self.page_id, "event": self.data}).encode()


def read_webhook(body: bytes) -> list[Event]:
    """All messaging events of a webhook body, in order. MalformedError if it is not Meta's shape.

    An event we do not know (a reaction, an opt-in, a chat plugin guest) is an
    OTHER event: stored and ignored, never a reason to refuse the batch.
    """
    payload = load_json_object(body)
    if payload.get("object") != "page":
        raise MalformedError("'object' must be \"page\" (a Messenger webhook of a Facebook page)")
    entries = payload.get("entry")
    if not isinstance(entries, list):
        raise MalformedError("'entry' must be a list")
    events = []
    for entry in entries:
        if not isinstance(entry, dict):
            raise MalformedError("each entry must be an object")
        messaging = entry.get("messaging", [])
        if not isinstance(messaging, list):
            raise MalformedError("'messaging' must be a list")
        for data in messaging:
            if not isinstance(data, dict):
                raise MalformedError("each messaging event must be an object")
            events.append(to_event(data, page_id=_text(entry.get("id"))))
    return events


def read_stored(body: bytes) -> Event:
    """The event stored by the webhook (Event.stored_body)."""
    stored = json.loads(body)
    return to_event(stored["event"], page_id=str(stored.get("page_id") or ""))


def to_event(data: dict, *, page_id: str) -> Event:
    sender = data.get("sender")
    sender_id = _text(sender.get("id")) if isinstance(sender, dict) else ""
    return Event(kind=_kind_of(data, sender_id), page_id=page_id, sender=sender_id, data=data)


def _kind_of(data: dict, sender: str) -> str:
    message = data.get("message")
    if isinstance(message, dict):
        if not (isinstance(message.get("mid"), str) and message["mid"]):
            return OTHER
        if message.get("is_echo"):
            return ECHO
        return MESSAGE if sender else OTHER
    for kind in (DELIVERY, READ):
        report = data.get(kind)
        if isinstance(report, dict) and sender and _is_number(report.get("watermark")):
            return kind
    if isinstance(data.get("postback"), dict) and sender:
        return POSTBACK
    return OTHER


def to_inbound(event: Event, *, inbox_id: int) -> InboundMessage:
    """A customer's message or postback (a button they tapped) as an InboundMessage."""
    messenger: dict = {"page_id": event.page_id, "psid": event.sender}
    meta: dict = {"messenger": messenger}
    thread_hints: tuple[str, ...] = ()
    if event.kind == POSTBACK:
        postback = event.data["postback"]
        title = _text(postback.get("title"))
        messenger["postback"] = _text(postback.get("payload"))
        return InboundMessage(
            inbox_id=inbox_id,
            channel=Channel.MESSENGER,
            sender=_sender(event),
            external_id=event.key,
            text=title or messenger["postback"],
            sent_at=to_datetime(event.data.get("timestamp")),
            meta=meta,
        )
    message = event.data["message"]
    text = _text(message.get("text"))
    media, shared = _attachments(event.mid, message.get("attachments"))
    if media:
        meta["media"] = media
    if shared:
        messenger["shared"] = shared
        # A shared link or post and nothing else: its address is the message.
        text = text or "\n".join(item["url"] for item in shared if item.get("url"))
    quick_reply = message.get("quick_reply")
    if isinstance(quick_reply, dict) and quick_reply.get("payload") is not None:
        messenger["quick_reply"] = _text(quick_reply.get("payload"))
    reply_to = message.get("reply_to")
    if isinstance(reply_to, dict) and isinstance(reply_to.get("mid"), str):
        # The customer quoted one of the page's messages: thread with it.
        thread_hints = (reply_to["mid"],)
    return InboundMessage(
        inbox_id=inbox_id,
        channel=Channel.MESSENGER,
        sender=_sender(event),
        external_id=event.mid,
        text=text,
        sent_at=to_datetime(event.data.get("timestamp")),
        thread_hints=thread_hints,
        meta=meta,
    )


def to_report(event: Event) -> DeliveryReport:
    """A delivery or read receipt: by message ids when Meta lists them, and by watermark."""
    report = event.data[event.kind]
    mids = report.get("mids") if event.kind == DELIVERY else None
    if not isinstance(mids, list):
        mids = []  # Older Messenger clients report by watermark only.
    return DeliveryReport(
        state=Delivery.DELIVERED if event.kind == DELIVERY else Delivery.READ,
        external_ids=tuple(m for m in mids if isinstance(m, str) and m),
        recipient=(IdentityKind.MESSENGER, event.sender),
        # "Everything the page sent this person before the watermark" (milliseconds).
        until=to_datetime(report["watermark"]),
    )


def to_datetime(milliseconds: object) -> datetime | None:
    """Meta's timestamps are milliseconds since the epoch."""
    if not _is_number(milliseconds):
        return None
    try:
        return datetime.fromtimestamp(milliseconds / 1000, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _sender(event: Event) -> SenderIdentity:
    # Meta proved it: the event is signed with the app secret and names the
    # person by their page-scoped id. Their name comes later (profile.py).
    return SenderIdentity(kind=IdentityKind.MESSENGER, value=event.sender, verified=True)


def _attachments(mid: str, attachments: object) -> tuple[list[dict], list[dict]]:
    """(files to download as channels_in.media items, shared links and other attachments)."""
    if not isinstance(attachments, list):
        return [], []
    # The key names the stored attachment (content_id "media:<key>", at most 255 characters).
    base = mid if len(mid) <= 200 else hashlib.sha256(mid.encode()).hexdigest()
    media, shared = [], []
    for index, attachment in enumerate(attachments):
        if not isinstance(attachment, dict):
            continue
        kind = _text(attachment.get("type"))
        payload = attachment.get("payload")
        if not isinstance(payload, dict):
            payload = {}
        url = payload.get("url")
        if kind in MEDIA_TYPES and isinstance(url, str) and url:
            media.append(
                {
                    "key": f"{base}-{index}",
                    "url": url,
                    "type": kind,
                    # The CDN says what it is when we download it.
                    "content_type": "",
                    "filename": _filename_in(url) if kind == "file" else "",
                }
            )
        else:
            item = {"type": kind}
            for name in ("title", "url"):
                value = attachment.get(name) or payload.get(name)
                if isinstance(value, str) and value:
                    item[name] = value
            shared.append(item)
    return media, shared


def _filename_in(url: str) -> str:
    # A file's CDN address ends in its original name (…/invoice.pdf?_nc_…).
    name = PurePosixPath(urlsplit(url).path).name
    return name if "." in name.strip(".") else ""


def _text(value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return ""


def _is_number(value: object) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool)
