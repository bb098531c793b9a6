"""Email: raw RFC 5322 in (webhook, IMAP, Anymail), Django's mail backend out.

`POST /inbound/email/<key>/` takes the raw message as its body with
`Authorization: Bearer <token>`. The IMAP poller and Anymail's inbound
signal store the same raw bytes the same way (channels_in/email/receive.py),
so all three end in parse() below and in the one ingest().
"""

from __future__ import annotations

import logging
import smtplib

from anymail.exceptions import AnymailError, AnymailRecipientsRefused
from django.conf import settings
from django.core.mail import get_connection
from django.http import HttpRequest

from tickets.ingest import InboundAttachment, InboundMessage, SenderIdentity
from tickets.models import Channel, Delivery, IdentityKind, Inbox, Message

from ..base import (
    Accepted,
    Adapter,
    DeliveryError,
    DeliveryReport,
    SendResult,
    SuppressedError,
    check_bearer_token,
)
from ..email import compose, loops, quotes, threads
from ..email.parse import ParsedEmail, parse_email, raw_fingerprint
from ..email.receive import accept_email

log = logging.getLogger(__name__)

# Rendered in the agent's language when the timeline is shown (agents/templatetags).
FOLD_SUMMARY = "…"
LOCALES = {"en", "pl", "cs"}


class EmailAdapter(Adapter):
    channel = Channel.EMAIL

    def accept(self, request: HttpRequest, inbox: Inbox) -> Accepted:
        check_bearer_token(request, inbox)
        # Even bytes that do not parse as mail are kept (shown to agents as
        # unparseable): the provider's 2xx must mean "stored", never "dropped".
        return accept_email(request.body, source="webhook")

    def parse(
        self, body: bytes, meta: dict, inbox: Inbox
    ) -> InboundMessage | DeliveryReport | None:
        mail = parse_email(body, max_attachment_bytes=settings.EMAIL_MAX_ATTACHMENT_BYTES)
        ours = loops.own_addresses() | _inbox_addresses(inbox)
        # Only a delivery status report, or a mailer daemon's own mail, is a bounce;
        # an auto-reply with an empty return path answering us is the customer's.
        if mail.delivery_status is not None or _is_daemon(mail):
            report = _bounce_report(mail)
            if report is not None:
                return report
        if not mail.from_address:
            raise ValueError("the message has no sender address")
        if mail.from_address.lower() in ours:
            # Our own mail come back (a Cc to ourselves, a forwarding rule): a loop.
            log.info("ignoring mail %s from our own address", mail.message_id)
            return None
        return self.to_inbound(mail, inbox, body=body, ours=ours)

    def to_inbound(
        self, mail: ParsedEmail, inbox: Inbox, *, body: bytes, ours: set[str]
    ) -> InboundMessage:
        signed = threads.ticket_from_hints(mail.thread_hints)
        ticket_hint = signed.ticket_id if signed else threads.read_marker(mail.html or mail.text)
        html = (
            quotes.fold_html(mail.html, FOLD_SUMMARY)
            if mail.html
            else quotes.text_to_html(mail.text, FOLD_SUMMARY)
        )
        people = [
            (name, address)
            for name, address in (*mail.to, *mail.cc)
            if address.lower() not in ours and address.lower() != mail.from_address.lower()
        ]
        meta = {
            "from": {"name": mail.from_name, "address": mail.from_address},
            "to": [address for _name, address in mail.to],
            "cc": [address for _name, address in mail.cc],
        }
        if mail.automated:
            meta["automated"] = mail.automated
        if mail.skipped:
            meta["skipped_attachments"] = [
                {"filename": s.filename, "size": s.size, "reason": s.reason} for s in mail.skipped
            ]
        if mail.defects:
            meta["defects"] = list(mail.defects)[:10]
        return InboundMessage(
            inbox_id=inbox.pk,
            channel=self.channel,
            sender=SenderIdentity(
                kind=IdentityKind.EMAIL, value=mail.from_address, name=mail.from_name
            ),
            external_id=mail.message_id or raw_fingerprint(body),
            text=mail.text,
            html=html,
            subject=mail.subject,
            sent_at=mail.date,
            attachments=tuple(
                InboundAttachment(
                    filename=a.filename,
                    content_type=a.content_type,
                    content=a.content,
                    content_id=a.content_id,
                )
                for a in mail.attachments
            ),
            ticket_hint=ticket_hint,
            thread_hints=mail.thread_hints,
            ticket_reference=threads.subject_token(mail.subject),
            thread_key=mail.thread_index or None,
            continues_conversation=False,
            cc=tuple(
                SenderIdentity(kind=IdentityKind.EMAIL, value=address, name=name)
                for name, address in people[:20]
            ),
            locale=mail.language[:2].lower() if mail.language[:2].lower() in LOCALES else "",
            is_automated=bool(mail.automated),
            meta=meta,
        )

    def send(self, message: Message) -> SendResult:
        outgoing = compose.compose(message)
        if message.is_automated:
            reason = loops.refuse_automatic(
                address=outgoing.to[0],
                ticket_id=message.ticket_id,
                answering_automated=compose.answers_automated(message),
            )
            if reason:
                raise SuppressedError(reason)
            loops.record_automatic(
                address=outgoing.to[0], ticket_id=message.ticket_id, message_id=message.pk
            )
        try:
            with get_connection(fail_silently=False) as connection:
                outgoing.connection = connection
                outgoing.send()
            refused = getattr(connection, "refused", {})
            if outgoing.to[0] in refused:
                # Someone on Cc got it; the customer did not.
                raise smtplib.SMTPRecipientsRefused({outgoing.to[0]: refused[outgoing.to[0]]})
        except smtplib.SMTPRecipientsRefused as exc:
            code, reason = _first_refusal(exc)
            raise DeliveryError(f"{code} {reason}", permanent=500 <= code < 600) from exc
        except smtplib.SMTPResponseException as exc:
            reason = (
                exc.smtp_error.decode("utf-8", "replace")
                if isinstance(exc.smtp_error, bytes)
                else str(exc.smtp_error)
            )
            raise DeliveryError(
                f"{exc.smtp_code} {reason}", permanent=500 <= exc.smtp_code < 600
            ) from exc
        except AnymailRecipientsRefused as exc:
            raise DeliveryError(str(exc), permanent=True) from exc
        except (OSError, smtplib.SMTPException, AnymailError) as exc:
            # Connection refused, timeouts, a service's 5xx: worth another try later.
            raise DeliveryError(f"{type(exc).__name__}: {exc}") from exc
        return SendResult(external_id=compose.message_id_of(outgoing), state=Delivery.SENT)


def _inbox_addresses(inbox: Inbox) -> set[str]:
    config = inbox.config or {}
    found = {str(config[k]).lower() for k in ("address", "reply_to") if config.get(k)}
    return found | {str(a).lower() for a in config.get("aliases", [])}


def _is_daemon(mail: ParsedEmail) -> bool:
    """Mail a mail server wrote itself (its own bounces), not a person's auto-responder."""
    local = mail.from_address.split("@")[0].lower()
    return local in ("mailer-daemon", "postmaster", "mail-daemon")


def _bounce_report(mail: ParsedEmail) -> DeliveryReport | None:
    """A bounce of mail we sent: the report on that message, if its id is provably ours."""
    status = mail.delivery_status
    candidates = (status.original_message_id,) if status and status.original_message_id else ()
    ours = threads.ticket_from_hints((*candidates, *mail.thread_hints))
    if ours is None:
        return None
    if status is not None and status.action and status.action != "failed":
        return DeliveryReport(state=Delivery.SENT, message_id=ours.message_id)
    reason = (status.diagnostic or status.status) if status else mail.subject
    if status is not None and status.recipient and status.is_permanent_failure:
        loops.suppress(address=status.recipient, reason=f"bounced: {reason}")
    return DeliveryReport(
        state=Delivery.FAILED, message_id=ours.message_id, error=f"Bounced: {reason}"[:500]
    )


def _first_refusal(exc: smtplib.SMTPRecipientsRefused) -> tuple[int, str]:
    # {address: (code, message)} for every refused recipient; the first tells why.
    for code, message in exc.recipients.values():
        text = message.decode("utf-8", "replace") if isinstance(message, bytes) else str(message)
        return int(code), text
    return 550, "recipient refused"
