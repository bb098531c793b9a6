"""Automatic mail never loops (RFC 3834): what counts as automatic, what we hold back, and
the caps that hold even when a peer's auto-responder breaks every rule."""

from __future__ import annotations

import pytest

from channels_in.models import SuppressedAddress
from tickets.automatic import record_automatic_reply
from tickets.models import Delivery, Message, Status, Ticket

from .mails import mail


def _post(post_email, inbox, raw) -> Message:
    response = post_email(inbox, raw)
    assert response.status_code == 202, response.content
    return Message.objects.get(pk=response.json()["message"])


def _auto(ticket, capture) -> Message:
    with capture(execute=True):
        message = record_automatic_reply(ticket=ticket, text="Dziękujemy, odpowiemy wkrótce.")
    message.refresh_from_db()
    return message


@pytest.mark.parametrize(
    ("headers", "sender", "reason"),
    [
        ({"Auto-Submitted": "auto-replied"}, None, "auto-submitted: auto-replied"),
        ({"Auto-Submitted": "auto-generated"}, None, "auto-submitted: auto-generated"),
        ({"Precedence": "bulk"}, None, "precedence: bulk"),
        ({"Precedence": "list"}, None, "precedence: list"),
        ({"Precedence": "junk"}, None, "precedence: junk"),
        ({"X-Autoreply": "yes"}, None, "x-autoreply"),
        ({"X-Autorespond": "Out of office"}, None, "x-autorespond"),
        ({"List-Id": "<news.shop.example>"}, None, "list-id"),
        ({"List-Unsubscribe": "<mailto:unsub@shop.example>"}, None, "list-unsubscribe"),
        ({"Return-Path": "<>"}, None, "empty return path"),
        ({"Return-Path": "<MAILER-DAEMON@mx.example>"}, None, "return path: mailer daemon"),
        ({}, "Mail Delivery System <MAILER-DAEMON@mx.example.pl>", "from: mailer daemon"),
    ],
)
def test_automatic_mail_is_stored_and_marked(headers, sender, reason, email_inbox, post_email):
    message = _post(
        post_email,
        email_inbox,
        mail(headers=headers, sender=sender or "Jan <jan@example.pl>", subject="Out of office"),
    )
    assert message.is_automated is True
    assert message.meta["automated"] == reason


def test_auto_submitted_no_is_a_person_writing(email_inbox, post_email):
    message = _post(post_email, email_inbox, mail(headers={"Auto-Submitted": "no"}))
    assert message.is_automated is False and "automated" not in message.meta


def test_our_automatic_mail_carries_the_rfc_3834_headers(
    email_inbox, post_email, smtp_server, django_capture_on_commit_callbacks
):
    ticket = _post(post_email, email_inbox, mail()).ticket
    sent = _auto(ticket, django_capture_on_commit_callbacks)
    assert sent.delivery_state == Delivery.SENT
    got = smtp_server.messages[-1].message
    assert got["Auto-Submitted"] == "auto-replied"
    assert got["X-Auto-Response-Suppress"] == "All"


def test_nothing_automatic_answers_automatic_mail(
    email_inbox, post_email, smtp_server, django_capture_on_commit_callbacks
):
    ticket = _post(post_email, email_inbox, mail(headers={"Auto-Submitted": "auto-replied"})).ticket
    held = _auto(ticket, django_capture_on_commit_callbacks)
    assert held.delivery_state == Delivery.SUPPRESSED
    assert "automatic" in held.delivery_error
    assert smtp_server.messages == []


def test_a_peer_that_ignores_every_rule_cannot_drag_us_into_a_loop(
    email_inbox, post_email, smtp_server, settings, django_capture_on_commit_callbacks
):
    """Two robots: the peer answers every mail of ours at once, with no automatic headers,
    and we acknowledge every mail it sends. The per-ticket cap ends it."""
    settings.AUTOMATIC_MAIL_MAX_PER_TICKET = 3
    ticket = _post(post_email, email_inbox, mail(sender="robot@peer.example")).ticket
    for _round in range(10):
        ours = _auto(ticket, django_capture_on_commit_callbacks)
        if ours.delivery_state != Delivery.SENT:
            break
        _post(
            post_email,
            email_inbox,
            mail(sender="robot@peer.example", in_reply_to=ours.external_id, text="Received."),
        )
    assert len(smtp_server.messages) == 3
    assert Ticket.objects.count() == 1
    last = Message.objects.filter(direction="out").order_by("-id").first()
    assert last.delivery_state == Delivery.SUPPRESSED
    assert "limit" in last.delivery_error


def test_the_per_address_cap_holds_across_tickets(
    email_inbox, post_email, smtp_server, settings, django_capture_on_commit_callbacks
):
    settings.AUTOMATIC_MAIL_MAX_PER_ADDRESS = 2
    states = []
    for number in range(4):
        ticket = _post(
            post_email, email_inbox, mail(sender="spammy@peer.example", subject=f"Nowa {number}")
        ).ticket
        states.append(_auto(ticket, django_capture_on_commit_callbacks).delivery_state)
    assert states == [Delivery.SENT, Delivery.SENT, Delivery.SUPPRESSED, Delivery.SUPPRESSED]
    assert len(smtp_server.messages) == 2


def _dsn(our_message_id: str, recipient: str, status: str = "5.1.1") -> bytes:
    return f"""From: Mail Delivery System <MAILER-DAEMON@mx.example.pl>
To: support@helpdesk.example
Subject: Undelivered Mail Returned to Sender
Message-ID: <bounce.{status}.{our_message_id}>
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="BOUND"

--BOUND
Content-Type: text/plain; charset=us-ascii

This is the mail system at host mx.example.pl.
I'm sorry to have to inform you that your message could not be delivered.

--BOUND
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.pl
Arrival-Date: Tue, 24 Nov 2026 10:00:00 +0100

Final-Recipient: rfc822; {recipient}
Original-Recipient: rfc822;{recipient}
Action: failed
Status: {status}
Diagnostic-Code: smtp; 550 {status} <{recipient}>: Recipient address rejected: User unknown

--BOUND
Content-Type: text/rfc822-headers

From: Support <support@helpdesk.example>
To: {recipient}
Subject: Re: Zamówienie
Message-ID: <{our_message_id}>

--BOUND--
""".replace("\n", "\r\n").encode()


def test_a_bounce_fails_our_message_and_stops_automatic_mail_to_the_address(
    email_inbox, post_email, smtp_server, agent, django_capture_on_commit_callbacks
):
    from tickets.replies import record_reply

    ticket = _post(post_email, email_inbox, mail(sender="gone@example.pl")).ticket
    with django_capture_on_commit_callbacks(execute=True):
        reply = record_reply(ticket=ticket, author=agent, text="Odpowiedź").message
    reply.refresh_from_db()
    assert reply.delivery_state == Delivery.SENT

    response = post_email(email_inbox, _dsn(reply.external_id, "gone@example.pl"))
    assert response.status_code == 202
    assert response.json()["message"] is None  # a report, not a customer's message
    reply.refresh_from_db()
    assert reply.delivery_state == Delivery.FAILED
    assert "User unknown" in reply.delivery_error
    assert SuppressedAddress.objects.filter(address="gone@example.pl").exists()
    assert Ticket.objects.count() == 1

    held = _auto(ticket, django_capture_on_commit_callbacks)
    assert held.delivery_state == Delivery.SUPPRESSED and "bounced" in held.delivery_error
    # An agent may still write by hand: only automatic mail is held back.
    with django_capture_on_commit_callbacks(execute=True):
        manual = record_reply(ticket=ticket, author=agent, text="Czy adres jest aktualny?")
    manual.message.refresh_from_db()
    assert manual.message.delivery_state == Delivery.SENT


def test_a_bounce_naming_a_forged_message_id_changes_nothing(email_inbox, post_email):
    response = post_email(
        email_inbox, _dsn("t1.m1.0123456789abcdef@helpdesk.example", "x@example.pl")
    )
    assert response.status_code == 202
    assert not SuppressedAddress.objects.exists()


def test_mail_from_our_own_address_is_not_ingested(email_inbox, post_email):
    response = post_email(
        email_inbox, mail(sender="Acme Support <support@helpdesk.example>", subject="Re: loop")
    )
    assert response.status_code == 202
    assert response.json()["message"] is None
    assert not Message.objects.exists()


@pytest.mark.parametrize("status", [Status.SOLVED, Status.PENDING])
def test_an_out_of_office_reply_joins_the_ticket_but_changes_nothing(
    status, email_inbox, post_email, agent, django_capture_on_commit_callbacks
):
    from tickets.replies import record_reply

    ticket = _post(post_email, email_inbox, mail(sender="jan@example.pl")).ticket
    with django_capture_on_commit_callbacks(execute=True):
        reply = record_reply(ticket=ticket, author=agent, text="Gotowe.", status=status).message
    reply.refresh_from_db()
    ticket.refresh_from_db()
    waiting_since = ticket.last_customer_message_at

    auto = _post(
        post_email,
        email_inbox,
        mail(
            sender="jan@example.pl",
            subject="Automatyczna odpowiedź: Problem",
            in_reply_to=reply.external_id,
            headers={"Auto-Submitted": "auto-replied"},
            text="Jestem na urlopie do poniedziałku.",
        ),
    )
    ticket.refresh_from_db()
    assert auto.ticket_id == ticket.pk and auto.is_automated
    assert ticket.status == status
    assert ticket.last_customer_message_at == waiting_since
