"""Messenger's reply rules: a page may answer a person within 24 hours of that
person's last message (the standard messaging window), and with the HUMAN_AGENT
message tag, a person answering by hand, within 7 days. After that the page
cannot write to them at all; another of the customer's channels can.

The window runs from when their latest message reached us on this inbox
(Message.created_at), the clock we and the agent see.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models.fields.json import KT
from django.utils.timesince import timesince
from django.utils.translation import gettext as _

from tickets.models import Channel, Direction, Message

from ..base import Reach

STANDARD_WINDOW = timedelta(hours=24)
HUMAN_AGENT_WINDOW = timedelta(days=7)
HUMAN_AGENT = "HUMAN_AGENT"
# The message tags an agent may choose (the others are for automated updates).
TAGS = (HUMAN_AGENT,)


@dataclass(frozen=True)
class LastInbound:
    """The customer's latest Messenger message on an inbox: when, and from which PSID."""

    at: datetime
    psid: str


def find_last_inbound(*, customer_id: int, inbox_id: int) -> LastInbound | None:
    """One query: the customer's own latest inbound Messenger message on the inbox."""
    row = (
        Message.objects.filter(
            ticket__customer_id=customer_id,
            inbox_id=inbox_id,
            direction=Direction.IN,
            channel=Channel.MESSENGER,
            # A participant's message on the customer's ticket is not the customer writing.
            meta__participant__isnull=True,
        )
        .order_by("-created_at", "-id")
        .values_list("created_at", KT("meta__messenger__psid"))
        .first()
    )
    if row is None:
        return None
    return LastInbound(at=row[0], psid=row[1] or "")


def reach_after(last: datetime | None, *, now: datetime) -> Reach:
    """Whether the page may reply now, the customer having last written at `last`."""
    if last is None:
        return Reach(
            available=False,
            reason=_(
                "The customer has not written to this Messenger page, and Messenger only "
                "allows replies to people who wrote first: reply on another of the "
                "customer's channels."
            ),
        )
    closes_at = last + STANDARD_WINDOW
    if now < closes_at:
        return Reach(available=True, closes_at=closes_at)
    ago = timesince(last, now, depth=1)
    if now < last + HUMAN_AGENT_WINDOW:
        return Reach(
            available=False,
            reason=_(
                "The customer last wrote on Messenger %(ago)s ago. Messenger only allows "
                "replies within 24 hours of the customer's last message: choose the Human "
                "agent tag (a person answering, within 7 days) or reply on another of the "
                "customer's channels."
            )
            % {"ago": ago},
            options=((HUMAN_AGENT, _("Human agent tag — a person answering within 7 days")),),
        )
    return Reach(
        available=False,
        reason=_(
            "The customer last wrote on Messenger %(ago)s ago. Messenger only allows replies "
            "within 24 hours of the customer's last message, and with the Human agent tag "
            "within 7 days: reply on another of the customer's channels."
        )
        % {"ago": ago},
    )
