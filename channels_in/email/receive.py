"""Every inbound mail path commits the raw message here first.

The webhook, the IMAP poller and Anymail's inbound signal all store the
exact bytes keyed by Message-ID (or, lacking one, by a hash of the bytes),
so the same mail arriving twice, by one path or by two, is stored once.
Processing (parse + ingest) runs after the commit.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from tickets.models import Inbox

from ..base import Accepted
from .parse import raw_fingerprint, read_message_id

if TYPE_CHECKING:
    from ..pipeline import Stored

# Message-ID in the header block, with folded continuation lines. A scan, not a
# parse: the webhook answers after storing, and parsing waits for processing.
_MESSAGE_ID_HEADER = re.compile(rb"^message-id:[ \t]*(.*(?:\r?\n[ \t].*)*)", re.I | re.M)
_HEADER_END = re.compile(rb"\r?\n\r?\n")


def provider_key(raw: bytes) -> str:
    """The key a raw mail is stored under: its Message-ID, or a hash of the bytes."""
    end = _HEADER_END.search(raw)
    match = _MESSAGE_ID_HEADER.search(raw, 0, end.start() if end else len(raw))
    message_id = ""
    if match:
        message_id = read_message_id(" ".join(match.group(1).decode("latin-1").split()))
    return message_id or raw_fingerprint(raw)


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
