"""Agent replies leave through a real SMTP server (aiosmtpd on 127.0.0.1) and thread
in the customer's mail client: the headers it receives are asserted."""

from __future__ import annotations

import pytest
from django.core.files.base import ContentFile

from channels_in.email import threads
from channels_in.tasks import send_outbound
from tickets.models import Attachment, Delivery, Message, Ticket
from tickets.replies import record_reply

from .mails import mail


@pytest.fixture
def ticket(email_inbox, post_email):
    response = post_email(
        email_inbox,
        mail(
            sender="Paweł Wiśniewski <pawel@example.pl>",
            subject="Zamówienie 4411 nie dotarło",
            message_id="first.question@example.pl",
        ),
    )
    return Ticket.objects.get(pk=response.json()["ticket"])


def _reply(ticket, agent, capture, text="Dzień dobry, paczka wyjdzie jutro.", **fields):
    with capture(execute=True):
        return record_reply(ticket=ticket, author=agent, text=text, **fields).message


def test_the_reply_reaches_smtp_with_headers_that_thread(
    ticket, agent, smtp_server, django_capture_on_commit_callbacks
):
    message = _reply(ticket, agent, django_capture_on_commit_callbacks)
    message.refresh_from_db()
    assert message.delivery_state == Delivery.SENT

    [received] = smtp_server.messages
    got = received.message
    assert received.rcpt_tos == ["pawel@example.pl"]
    assert str(got["From"]) == "Agnieszka Nowak | Acme Support <support@helpdesk.example>"
    assert str(got["Reply-To"]) == "support@helpdesk.example"
    assert str(got["To"]) == "pawel@example.pl"
    assert str(got["Subject"]) == f"Re: Zamówienie 4411 nie dotarło [#{ticket.pk}]"
    assert str(got["In-Reply-To"]) == "<first.question@example.pl>"
    assert str(got["References"]) == "<first.question@example.pl>"
    own_id = str(got["Message-ID"]).strip("<>")
    assert own_id == message.external_id
    assert threads.read_our_message_id(own_id).message_id == message.pk
    assert got.get("Auto-Submitted") is None  # a person wrote it
    text = got.get_body(preferencelist=("plain",)).get_content()
    html = got.get_body(preferencelist=("html",)).get_content()
    assert "paczka wyjdzie jutro" in text and "paczka wyjdzie jutro" in html
    assert threads.marker_for(ticket.pk) in html


def test_a_second_reply_references_the_whole_thread(
    ticket, agent, smtp_server, email_inbox, post_email, django_capture_on_commit_callbacks
):
    first = _reply(ticket, agent, django_capture_on_commit_callbacks)
    first.refresh_from_db()
    post_email(
        email_inbox,
        mail(
            sender="pawel@example.pl",
            message_id="answer.two@example.pl",
            in_reply_to=first.external_id,
            references=["first.question@example.pl", first.external_id],
        ),
    )
    _reply(ticket, agent, django_capture_on_commit_callbacks, text="Numer przesyłki: 123.")
    got = smtp_server.messages[-1].message
    assert str(got["In-Reply-To"]) == "<answer.two@example.pl>"
    assert str(got["References"]).split() == [
        "<first.question@example.pl>",
        f"<{first.external_id}>",
        "<answer.two@example.pl>",
    ]


def test_attachments_of_a_reply_go_out_with_it(
    ticket, agent, smtp_server, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):
        message = record_reply(ticket=ticket, author=agent, text="Faktura w załączniku.").message
    Attachment.objects.create(
        message=message,
        file=ContentFile(b"%PDF-1.4 invoice", name="faktura.pdf"),
        filename="faktura.pdf",
        content_type="application/pdf",
        size=16,
    )
    assert send_outbound(message.pk) == Delivery.SENT
    got = smtp_server.messages[-1].message
    [part] = list(got.iter_attachments())
    assert part.get_filename() == "faktura.pdf"
    assert part.get_content() == b"%PDF-1.4 invoice"


def test_a_refused_recipient_fails_the_message_with_the_servers_reason(
    ticket, agent, smtp_server, django_capture_on_commit_callbacks
):
    smtp_server.refuse["pawel@example.pl"] = "550 5.1.1 <pawel@example.pl>: no such user"
    message = _reply(ticket, agent, django_capture_on_commit_callbacks)
    message.refresh_from_db()
    assert message.delivery_state == Delivery.FAILED
    assert "no such user" in message.delivery_error
    assert smtp_server.messages == []


def test_a_server_that_is_down_leaves_the_reply_queued_for_a_retry(
    ticket, agent, settings, django_capture_on_commit_callbacks
):
    from tests.servers import free_port

    settings.EMAIL_BACKEND = "channels_in.email.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", free_port()  # nobody listens
    with django_capture_on_commit_callbacks(execute=False):
        message = record_reply(ticket=ticket, author=agent, text="Halo?").message
    retries = []
    assert send_outbound(message.pk, retry=retries.append) == Delivery.PENDING
    message.refresh_from_db()
    assert message.delivery_state == Delivery.PENDING
    assert "ConnectionRefused" in message.delivery_error
    assert len(retries) == 1


def test_a_reply_is_never_sent_twice_for_one_message(
    ticket, agent, smtp_server, django_capture_on_commit_callbacks
):
    message = _reply(ticket, agent, django_capture_on_commit_callbacks)
    # The task arrives again (a redelivery after a worker restart).
    assert send_outbound(message.pk) == "skipped"
    assert len(smtp_server.messages) == 1
    assert Message.objects.get(pk=message.pk).delivery_state == Delivery.SENT


def test_a_refused_customer_fails_the_reply_even_when_someone_on_cc_got_it(
    email_inbox, post_email, agent, smtp_server, django_capture_on_commit_callbacks
):
    response = post_email(
        email_inbox, mail(sender="gone@example.pl", cc="Kolega <kolega@example.pl>")
    )
    ticket = Ticket.objects.get(pk=response.json()["ticket"])
    smtp_server.refuse["gone@example.pl"] = "550 5.1.1 <gone@example.pl>: mailbox unavailable"
    message = _reply(ticket, agent, django_capture_on_commit_callbacks)
    message.refresh_from_db()
    assert message.delivery_state == Delivery.FAILED
    assert "mailbox unavailable" in message.delivery_error
    assert [m.rcpt_tos for m in smtp_server.messages] == [["kolega@example.pl"]]
