"""Pictures and files a provider holds for a message (MMS media, Messenger
attachments), fetched after the message is stored.

Ingest records what to fetch in Message.meta["media"] as
[{"key": ..., "url": ..., "content_type": ..., "filename": ...}]; the task
fetch_media(message_id) asks the channel's adapter to download each item not
yet stored and adds it as an attachment. Safe to run twice: an item whose key
is already an attachment is skipped.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx
from django.conf import settings
from django.db import transaction

from tickets.ingest import InboundAttachment, add_attachments
from tickets.models import Message

log = logging.getLogger(__name__)

KEY_PREFIX = "media:"


class MediaError(Exception):
    """A file could not be fetched. permanent=True: asking again cannot help."""

    def __init__(self, reason: str, *, permanent: bool = False):
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent


@dataclass(frozen=True)
class Fetched:
    content: bytes
    content_type: str


def host_allowed(url: str, hosts: list[str] | tuple[str, ...]) -> bool:
    """Whether the URL's host is one of `hosts` or under one of them (suffix match)."""
    host = (urlsplit(url).hostname or "").lower()
    return any(host == allowed or host.endswith("." + allowed) for allowed in hosts)


def download(url: str, **request) -> Fetched:
    """GET one file, at most INBOUND_MEDIA_MAX_BYTES; redirects are followed
    (the credentials are not sent to another host)."""
    limit = settings.INBOUND_MEDIA_MAX_BYTES
    try:
        with httpx.stream(
            "GET",
            url,
            follow_redirects=True,
            timeout=settings.PROVIDER_TIMEOUT_SECONDS,
            **request,
        ) as response:
            if response.status_code in (404, 410):
                raise MediaError(
                    f"the provider no longer has it ({response.status_code})", permanent=True
                )
            if response.status_code in (401, 403):
                raise MediaError(
                    f"the provider refused access ({response.status_code})", permanent=True
                )
            if response.status_code >= 400:
                raise MediaError(f"the provider answered {response.status_code}")
            chunks, size = [], 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > limit:
                    raise MediaError(f"larger than the {limit} byte limit", permanent=True)
                chunks.append(chunk)
            content_type = response.headers.get("content-type", "application/octet-stream")
    except httpx.HTTPError as exc:
        raise MediaError(f"{type(exc).__name__}: {exc}") from exc
    return Fetched(content=b"".join(chunks), content_type=content_type)


def content_id(item: dict) -> str:
    """The attachment's content_id that marks the item as fetched (it fits the column)."""
    return (KEY_PREFIX + str(item["key"]))[:255]


def pending_media(message: Message) -> list[dict]:
    """The items of the message still to fetch."""
    items = message.meta.get("media") or []
    have = set(
        message.attachments.filter(content_id__startswith=KEY_PREFIX).values_list(
            "content_id", flat=True
        )
    )
    return [item for item in items if content_id(item) not in have]


def fetch_message_media(message_id: int, *, fetch) -> int:
    """Fetch and store the message's pending items with `fetch(inbox, item) -> Fetched`.

    Returns how many were stored. A permanent failure is noted on the message
    (meta["media_errors"]) for the agent; a temporary one raises MediaError to retry.
    """
    message = Message.objects.select_related("inbox").get(pk=message_id)
    stored = 0
    for item in pending_media(message):
        try:
            fetched = fetch(message.inbox, item)
        except MediaError as exc:
            if not exc.permanent:
                raise
            log.warning("media %s of message %s not fetched: %s", item["key"], message_id, exc)
            _note_error(message_id, item, exc.reason)
            continue
        with transaction.atomic():
            locked = Message.objects.select_for_update().get(pk=message_id)
            if not any(i["key"] == item["key"] for i in pending_media(locked)):
                continue  # a parallel run stored it
            add_attachments(
                locked,
                (
                    InboundAttachment(
                        filename=item.get("filename") or _filename(item, fetched.content_type),
                        content_type=item.get("content_type") or fetched.content_type,
                        content=fetched.content,
                        content_id=content_id(item),
                    ),
                ),
            )
        stored += 1
    return stored


def _note_error(message_id: int, item: dict, reason: str) -> None:
    with transaction.atomic():
        message = Message.objects.select_for_update().get(pk=message_id)
        errors = message.meta.setdefault("media_errors", {})
        errors[item["key"]] = reason
        message.save(update_fields=["meta"])


_EXTENSIONS = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/gif": "gif",
    "image/webp": "webp",
    "audio/mpeg": "mp3",
    "audio/mp4": "m4a",
    "audio/ogg": "ogg",
    "audio/amr": "amr",
    "video/mp4": "mp4",
    "application/pdf": "pdf",
    "text/vcard": "vcf",
}


def _filename(item: dict, content_type: str) -> str:
    bare = content_type.split(";", 1)[0].strip().lower()
    return f"{item['key'][:40]}.{_EXTENSIONS.get(bare, 'bin')}"
