"""An outbound Message -> a Django EmailMessage that threads in the customer's mail client.

Our own signed Message-ID, In-Reply-To and References pointing at the mail
we answer, the ticket token in the subject, the inbox's From and Reply-To
with the agent's name, text and HTML, attachments, the people on Cc, and
for automatic mail the RFC 3834 headers that stop other robots answering.
"""

from __future__ import annotations

import html as html_lib
from email.utils import formataddr

from django.core.mail import EmailMultiAlternatives

from tickets.models import Channel, Direction, Identity, IdentityKind, Message, TicketParticipant

from ..base import DeliveryError
from . import threads
from .quotes import text_to_html

_MARKER_STYLE = "display:none;font-size:0;line-height:0;max-height:0;overflow:hidden;opacity:0"


def compose(message: Message) -> EmailMultiAlternatives:
    ticket = message.ticket
    inbox = message.inbox
    config = inbox.config or {}
    address = config.get("address")
    if not address or "@" not in address:
        raise DeliveryError(f"the inbox {inbox.name} has no sending address", permanent=True)
    domain = address.rsplit("@", 1)[1]

    thread = list(
        Message.objects.filter(ticket_id=ticket.pk, channel=Channel.EMAIL, is_note=False)
        .exclude(pk=message.pk)
        .filter(pk__lt=message.pk)
        .order_by("-id")
        .values("direction", "external_id", "meta")[:30]
    )
    to_address = _customer_address(ticket.customer_id, thread)
    if not to_address:
        raise DeliveryError("the customer has no email address", permanent=True)
    cc = [a for a in _participant_addresses(ticket.pk) if a.lower() != to_address.lower()]

    answered = next((m for m in thread if m["direction"] == Direction.IN), None)
    references = [m["external_id"] for m in reversed(thread) if _is_message_id(m["external_id"])]
    own_id = threads.message_id_for(ticket_id=ticket.pk, message_id=message.pk, domain=domain)
    headers = {"Message-ID": f"<{own_id}>"}
    if answered and _is_message_id(answered["external_id"]):
        headers["In-Reply-To"] = f"<{answered['external_id']}>"
    if references:
        headers["References"] = " ".join(f"<{ref}>" for ref in references[-20:])
    reply_to = config.get("reply_to") or address
    if message.is_automated:
        # RFC 3834: tell other robots not to answer; Exchange reads its own header.
        headers["Auto-Submitted"] = "auto-replied"
        headers["X-Auto-Response-Suppress"] = "All"
        headers["Precedence"] = "auto_reply"

    sender_name = config.get("from_name") or inbox.name
    if message.author is not None:
        agent = message.author.get_full_name() or message.author.get_username()
        sender_name = f"{agent} | {sender_name}"
    mail = EmailMultiAlternatives(
        subject=threads.reply_subject(message.subject or ticket.subject, ticket.pk),
        body=message.body_text,
        from_email=formataddr((sender_name, address)),
        to=[to_address],
        cc=cc,
        reply_to=[reply_to],
        headers=headers,
    )
    body_html = message.body_html or text_to_html(message.body_text, "…")
    marker = threads.marker_for(ticket.pk)
    mail.attach_alternative(
        f'<div dir="auto">{body_html}</div>'
        f'<div style="{_MARKER_STYLE}" aria-hidden="true">{html_lib.escape(marker)}</div>',
        "text/html",
    )
    for attachment in message.attachments.all():
        with attachment.file.open("rb") as handle:
            mail.attach(attachment.filename, handle.read(), attachment.content_type)
    # Anymail email services echo metadata back in their tracking webhooks.
    mail.metadata = {"helpdesk_message": str(message.pk)}  # type: ignore[attr-defined]
    return mail


def message_id_of(mail: EmailMultiAlternatives) -> str:
    return mail.extra_headers["Message-ID"].strip("<>")


def answers_automated(message: Message) -> bool:
    """Whether the customer's message this one answers was itself automatic."""
    latest = (
        Message.objects.filter(
            ticket_id=message.ticket_id, direction=Direction.IN, pk__lt=message.pk
        )
        .order_by("-id")
        .values_list("is_automated", flat=True)
        .first()
    )
    return bool(latest)


def _customer_address(customer_id: int, thread: list[dict]) -> str:
    """The address the customer last wrote from in this ticket, else their latest one."""
    for item in thread:
        if item["direction"] == Direction.IN and not item["meta"].get("participant"):
            address = (item["meta"].get("from") or {}).get("address")
            if address:
                return address
    return (
        Identity.objects.filter(customer_id=customer_id, kind=IdentityKind.EMAIL)
        .order_by("-id")
        .values_list("value", flat=True)
        .first()
        or ""
    )


def _participant_addresses(ticket_id: int) -> list[str]:
    customers = TicketParticipant.objects.filter(ticket_id=ticket_id).values("customer_id")
    return list(
        Identity.objects.filter(customer_id__in=customers, kind=IdentityKind.EMAIL)
        .order_by("id")
        .values_list("value", flat=True)[:20]
    )


def _is_message_id(value: str | None) -> bool:
    return bool(value) and "@" in value and not value.startswith("sha256:")
