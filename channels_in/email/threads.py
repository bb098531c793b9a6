"""How a mail names its ticket: signed Message-IDs, signed markers, subject tokens.

Our outbound Message-IDs carry an HMAC of the ticket and message numbers, so
a Message-ID that merely looks like ours (forged headers) is not trusted.
Mail services that rewrite Message-IDs keep the HTML body: a hidden marker
there carries the same signed reference. The rules and their order are in
docs/threading.md.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass

from django.conf import settings

# <t4821.m99312.3f9a1c0b2e4d5a6f@support.example.com>
_OUR_ID = re.compile(r"^t(\d{1,18})\.m(\d{1,18})\.([0-9a-f]{16})@", re.IGNORECASE)
# [ref:t4821.3f9a1c0b2e4d5a6f], hidden in our HTML.
_MARKER = re.compile(r"\[ref:t(\d{1,18})\.([0-9a-f]{16})\]", re.IGNORECASE)
# [#4821] anywhere in a subject.
_SUBJECT_TOKEN = re.compile(r"\[#(\d{1,18})\]")
_REPLY_PREFIX = re.compile(r"^\s*((re|fw|fwd|odp|pd|wg|aw|tr|sv|vs)\s*(\[\d+\])?\s*:\s*)+", re.I)


def _sign(text: str) -> str:
    key = (settings.SECRET_KEY + ":email-thread").encode()
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()[:16]


def message_id_for(*, ticket_id: int, message_id: int, domain: str) -> str:
    """Our Message-ID (without angle brackets) for an outbound message."""
    return f"t{ticket_id}.m{message_id}.{_sign(f'{ticket_id}.{message_id}')}@{domain}"


@dataclass(frozen=True)
class OurMessage:
    ticket_id: int
    message_id: int


def read_our_message_id(message_id: str) -> OurMessage | None:
    """The ticket and message an id of ours names, if its signature holds."""
    match = _OUR_ID.match(message_id)
    if not match:
        return None
    ticket_id, msg_id, signature = match.groups()
    if not hmac.compare_digest(signature.lower(), _sign(f"{int(ticket_id)}.{int(msg_id)}")):
        return None
    return OurMessage(ticket_id=int(ticket_id), message_id=int(msg_id))


def marker_for(ticket_id: int) -> str:
    return f"[ref:t{ticket_id}.{_sign(f'ticket.{ticket_id}')}]"


def read_marker(body: str) -> int | None:
    """The ticket a signed marker in a quoted body names (the last valid one wins)."""
    found = None
    for ticket_id, signature in _MARKER.findall(body or ""):
        if hmac.compare_digest(signature.lower(), _sign(f"ticket.{int(ticket_id)}")):
            found = int(ticket_id)
    return found


def subject_token(subject: str) -> int | None:
    match = _SUBJECT_TOKEN.search(subject or "")
    return int(match.group(1)) if match else None


def reply_subject(subject: str, ticket_id: int) -> str:
    """ "Re: <subject> [#4821]", with no pile of prefixes and one token."""
    bare = _REPLY_PREFIX.sub("", _SUBJECT_TOKEN.sub("", subject or "")).strip()
    return f"Re: {bare} [#{ticket_id}]" if bare else f"[#{ticket_id}]"


def ticket_from_hints(hints: tuple[str, ...]) -> OurMessage | None:
    """The first of our own signed Message-IDs among a mail's thread hints."""
    for hint in hints:
        ours = read_our_message_id(hint)
        if ours is not None:
            return ours
    return None
