"""Agents open a ticket on a customer's behalf: a phone call, a visit, a request passed on by hand.

The customer's words become the ticket's first message, stored as theirs
(inbound) through the one ingest path, in the inbox the agent chose, with the
agent as the actor of the timeline events. Listeners hear MessageReceived as
for any customer message, so the SLA clock and the live inbox behave the same.
It always starts a new ticket: the agent decided there is a new request.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser
from django.utils.translation import gettext as _

from .ingest import InboundMessage, IngestError, SenderIdentity, ingest
from .models import (
    Customer,
    Identity,
    IdentityKind,
    Inbox,
    Message,
    Priority,
    Ticket,
)
from .replies import MAX_BODY
from .sanitize import html_to_text, sanitize_html


class OpeningError(Exception):
    """The ticket cannot be opened as asked; the message says why, in the request's language."""


@dataclass(frozen=True)
class OpenedTicket:
    ticket: Ticket
    message: Message
    duplicate: bool


def open_ticket(
    *,
    inbox: Inbox,
    actor: AbstractBaseUser,
    text: str = "",
    html: str = "",
    subject: str = "",
    customer: Customer | None = None,
    identity: SenderIdentity | None = None,
    priority: int | None = None,
    idempotency_key: str | None = None,
) -> OpenedTicket:
    """Open a new ticket for `customer`, or for whoever owns `identity` (created if nobody does).

    Exactly one of customer and identity is given; a merged customer's
    ticket goes to the customer it was merged into. The same idempotency_key
    again returns the first ticket and stores nothing.
    """
    if (customer is None) == (identity is None):
        raise OpeningError(_("Give either a customer or a way to reach them, not both."))
    html = sanitize_html(html)
    text = (text or html_to_text(html)).strip()
    if not text:
        raise OpeningError(_("The customer's first message cannot be empty."))
    if len(text) > MAX_BODY:
        raise OpeningError(
            _("A message can be at most %(max)s characters long.") % {"max": MAX_BODY}
        )
    if priority is not None and priority not in Priority.values:
        raise OpeningError(_("Unknown priority: %(priority)s.") % {"priority": priority})
    if not inbox.is_active:
        raise OpeningError(_("The inbox %(inbox)s is not active.") % {"inbox": inbox.name})
    if identity is not None:
        if identity.kind not in IdentityKind.values:
            raise OpeningError(_("Unknown identity kind: %(kind)s.") % {"kind": identity.kind})
        if not Identity.normalize(identity.kind, identity.value):
            raise OpeningError(_("The identity needs a value."))
    if idempotency_key:
        existing = _opened_with(idempotency_key)
        if existing is not None:
            return existing
    try:
        result = ingest(
            InboundMessage(
                inbox_id=inbox.pk,
                channel=inbox.channel,
                sender=identity,
                customer_id=customer.pk if customer is not None else None,
                # The key makes a repeated request a replay of the first one.
                external_id=f"agent:{idempotency_key or uuid.uuid4().hex}",
                idempotency_key=idempotency_key or None,
                text=text,
                html=html,
                subject=subject,
                new_ticket=True,
                priority=priority,
                recorded_by=actor.pk,
                meta={"opened_by": actor.pk},
            )
        )
    except IngestError as exc:
        # E.g. the inbox was switched off since the check above: the agent sees why.
        raise OpeningError(str(exc)) from exc
    return OpenedTicket(ticket=result.ticket, message=result.message, duplicate=result.duplicate)


def _opened_with(idempotency_key: str) -> OpenedTicket | None:
    message = (
        Message.objects.select_related("ticket").filter(idempotency_key=idempotency_key).first()
    )
    if message is None:
        return None
    return OpenedTicket(ticket=message.ticket, message=message, duplicate=True)
