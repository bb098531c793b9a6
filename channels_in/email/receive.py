"""Every inbound mail path commits the raw message here first.

The webhook, the IMAP poller and Anymail's inbound signal all store the
exact bytes keyed by Message-ID (or, lacking one, by a hash of the bytes),
so the same mail arriving twice, by one path or by two, is stored once.
Processing (parse + ingest) runs after the commit.
"""

from __future__ import annotations

from email import policy
from email.parser import BytesHeaderParser
from typing import TYPE_CHECKING

from tickets.models import Inbox

from ..base import Accepted
from .parse import header_text, raw_fingerprint, read_message_id

if TYPE_CHECKING:
    from ..pipeline import Stored

_HEADERS = BytesHeaderParser(policy=policy.default)


def provider_key(raw: bytes) -> str:
    """The key a raw mail is stored under: its Message-ID, or a hash of the bytes."""
    try:
        headers = _HEADERS.parsebytes(raw)
        message_id = header_text(headers, "Message-ID")
    except Exception:
        message_id = ""
    return read_message_id(message_id) or raw_fingerprint(raw)


def accept_email(raw: bytes, *, source: str, meta: dict | None = None) -> Accepted:
    return Accepted(
        provider_key=provider_key(raw),
        body=raw,
        content_type="message/rfc822",
        meta={"source": source, **(meta or {})},
    )


def store_email(*, inbox: Inbox, raw: bytes, source: str, meta: dict | None = None) -> Stored:
    """Commit one raw mail for the inbox; a mail already stored stores nothing (duplicate)."""
    from ..pipeline import store_raw  # the pipeline's registry imports the email adapter

    return store_raw(inbox=inbox, accepted=accept_email(raw, source=source, meta=meta))
