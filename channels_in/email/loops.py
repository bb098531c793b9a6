"""Loop safety (RFC 3834): what counts as automatic mail, and whether we may answer.

Two halves. On the way in, automated_reason() tells an out-of-office, a list
post or a bounce from a person's mail; such mail is still stored, marked
automatic. On the way out, refuse_automatic() is asked before any automatic
message of ours (an acknowledgement, a survey) leaves: never in answer to
automatic mail, never to our own addresses or to an address that bounced,
and never more than the caps allow per recipient and ticket, even when a
peer's auto-responder ignores every rule.
"""

from __future__ import annotations

import time
from datetime import timedelta
from email.message import Message as MimeMessage

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

_BULK_PRECEDENCE = {"bulk", "list", "junk", "auto_reply"}
_DAEMON_LOCAL_PARTS = {"mailer-daemon", "postmaster", "mail-daemon", "mailerdaemon"}


def automated_reason(msg: MimeMessage, from_address: str) -> str:
    """Why this mail was sent by a machine, or "" when a person wrote it."""
    from .parse import header_text  # parse imports this module

    auto_submitted = header_text(msg, "Auto-Submitted").lower()
    if auto_submitted and not auto_submitted.startswith("no"):
        return f"auto-submitted: {auto_submitted.split(';')[0]}"
    precedence = header_text(msg, "Precedence").lower()
    if precedence in _BULK_PRECEDENCE:
        return f"precedence: {precedence}"
    for name in ("X-Autoreply", "X-Autorespond", "X-Autoresponder", "X-Auto-Reply"):
        if msg.get(name) is not None:
            return name.lower()
    for name in ("List-Id", "List-Unsubscribe"):
        if msg.get(name) is not None:
            return name.lower()
    if msg.get("Return-Path") is not None:
        return_path = header_text(msg, "Return-Path").strip().strip("<>").strip()
        if not return_path:
            return "empty return path"
        if return_path.split("@")[0].lower() in _DAEMON_LOCAL_PARTS:
            return "return path: mailer daemon"
    if from_address.split("@")[0].lower() in _DAEMON_LOCAL_PARTS:
        return "from: mailer daemon"
    if msg.get_content_type() == "multipart/report":
        return "delivery report"
    return ""


_own: tuple[float, frozenset[str]] = (0.0, frozenset())
OWN_ADDRESSES_TTL = 30.0  # seconds an inbox's new address takes to count as ours


def own_addresses() -> frozenset[str]:
    """Every address our email inboxes receive at (never a customer).

    Read on every inbound mail, so kept for OWN_ADDRESSES_TTL seconds per process.
    """
    global _own
    at, cached = _own
    if time.monotonic() - at < OWN_ADDRESSES_TTL:
        return cached
    _own = (time.monotonic(), frozenset(_read_own_addresses()))
    return _own[1]


def forget_own_addresses() -> None:
    """Drop the cached addresses (an inbox was created or changed)."""
    global _own
    _own = (0.0, frozenset())


def _read_own_addresses() -> set[str]:
    from tickets.models import Channel, Inbox

    addresses = set()
    for config in Inbox.objects.filter(channel=Channel.EMAIL).values_list("config", flat=True):
        for key in ("address", "reply_to"):
            if config.get(key):
                addresses.add(str(config[key]).lower())
        addresses.update(str(a).lower() for a in config.get("aliases", []))
    return addresses


def refuse_automatic(*, address: str, ticket_id: int, answering_automated: bool) -> str:
    """Why automatic mail to this address must not go out now, or "" if it may.

    The reason is for the agent, translated.
    """
    from ..models import AutomaticMail, SuppressedAddress

    address = address.lower()
    now = timezone.now()
    if answering_automated:
        return _("The customer's message was itself automatic; answering it could start a loop.")
    if address in own_addresses():
        return _("The recipient is one of our own addresses.")
    if SuppressedAddress.objects.filter(address=address, until__gt=now).exists():
        return _("Mail to this address bounced recently; no automatic mail until it recovers.")
    window = now - timedelta(hours=settings.AUTOMATIC_MAIL_WINDOW_HOURS)
    recent = AutomaticMail.objects.filter(address=address, sent_at__gte=window)
    if recent.filter(ticket_id=ticket_id).count() >= settings.AUTOMATIC_MAIL_MAX_PER_TICKET:
        return _("The limit of automatic mail to this address on this ticket is reached.")
    if recent.count() >= settings.AUTOMATIC_MAIL_MAX_PER_ADDRESS:
        return _("The limit of automatic mail to this address is reached.")
    return ""


def record_automatic(*, address: str, ticket_id: int, message_id: int) -> None:
    """Count one automatic mail against the caps (once per message)."""
    from ..models import AutomaticMail

    AutomaticMail.objects.get_or_create(
        message_id=message_id,
        defaults={"address": address.lower(), "ticket_id": ticket_id, "sent_at": timezone.now()},
    )


def suppress(*, address: str, reason: str) -> None:
    """Stop automatic mail to an address for the configured period (a hard bounce, a complaint)."""
    from ..models import SuppressedAddress

    until = timezone.now() + timedelta(days=settings.BOUNCED_ADDRESS_SUPPRESS_DAYS)
    with transaction.atomic():
        SuppressedAddress.objects.update_or_create(
            address=address.lower()[:320], defaults={"reason": reason[:500], "until": until}
        )
