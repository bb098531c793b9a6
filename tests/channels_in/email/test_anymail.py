"""Email services through django-anymail: signed inbound webhooks land in the same
ingest path, and their tracking webhooks fail bounced replies."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import pytest
from django.db import connection

from channels_in.models import RawInbound, SuppressedAddress
from tickets.models import Delivery, Message, Ticket
from tickets.replies import record_reply

from .mails import mail

SIGNING_KEY = "key-mailgun-test-signing"
BASIC = "anymail:s3cret-basic"


@pytest.fixture(autouse=True)
def anymail_settings(settings):
    settings.ANYMAIL = {"WEBHOOK_SECRET": BASIC, "MAILGUN_WEBHOOK_SIGNING_KEY": SIGNING_KEY}


def _auth(secret: str = BASIC) -> dict:
    return {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(secret.encode()).decode()}


def _mailgun_signature(key: str = SIGNING_KEY) -> dict:
    # Mailgun's documented scheme: HMAC-SHA256 of timestamp + token with the signing key.
    timestamp, token = str(int(time.time())), "a8ce0edb2dd8301dee6c2405235584e45aa91d1e9f979f3de0"
    signature = hmac.new(key.encode(), f"{timestamp}{token}".encode(), hashlib.sha256).hexdigest()
    return {"timestamp": timestamp, "token": token, "signature": signature}


def _mailgun_inbound(client, raw: bytes, recipient="support@helpdesk.example", key=SIGNING_KEY):
    return client.post(
        "/anymail/mailgun/inbound_mime/",
        data={"body-mime": raw.decode(), "recipient": recipient, **_mailgun_signature(key)},
        **_auth(),
    )


def test_mailgun_inbound_mail_lands_in_the_inbox_it_was_sent_to(client, email_inbox):
    response = _mailgun_inbound(client, mail(subject="Reklamacja butów"))
    assert response.status_code == 200
    ticket = Ticket.objects.get()
    assert ticket.inbox == email_inbox and ticket.subject == "Reklamacja butów"
    assert RawInbound.objects.get().meta["source"] == "anymail:mailgun"


def test_a_wrong_mailgun_signature_stores_nothing(client, email_inbox):
    response = _mailgun_inbound(client, mail(), key="not-the-key")
    assert response.status_code == 400
    assert not RawInbound.objects.exists() and not Message.objects.exists()


def test_a_wrong_basic_auth_secret_stores_nothing(client, email_inbox):
    response = client.post(
        "/anymail/mailgun/inbound_mime/",
        data={"body-mime": mail().decode(), **_mailgun_signature()},
        **_auth("anymail:wrong"),
    )
    assert response.status_code == 400
    assert not RawInbound.objects.exists()


def test_postmark_inbound_with_the_raw_mail(client, email_inbox):
    payload = {
        "FromFull": {"Email": "jan@example.pl", "Name": "Jan"},
        "RawEmail": mail(subject="Postmark path", message_id="pm-1@example.pl").decode(),
        "Headers": [{"Name": "Return-Path", "Value": "<jan@example.pl>"}],
    }
    response = client.post(
        "/anymail/postmark/inbound/",
        data=json.dumps(payload),
        content_type="application/json",
        **_auth(),
    )
    assert response.status_code == 200
    assert Message.objects.get().external_id == "pm-1@example.pl"


def test_the_same_message_id_by_two_paths_is_stored_once(client, email_inbox, post_email):
    raw = mail(message_id="both-paths@example.pl")
    assert post_email(email_inbox, raw).status_code == 202
    assert _mailgun_inbound(client, raw).status_code == 200
    assert Message.objects.count() == 1 and RawInbound.objects.count() == 1


def test_mail_for_an_address_no_inbox_receives_at_stores_nothing(client, email_inbox):
    response = _mailgun_inbound(
        client, mail(to="sales@other.example"), recipient="sales@other.example"
    )
    assert response.status_code == 200
    assert not RawInbound.objects.exists()


def test_a_database_failure_answers_503_so_the_service_retries(client, email_inbox):
    with connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE {RawInbound._meta.db_table} RENAME TO raw_away")
    try:
        response = _mailgun_inbound(client, mail())
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"ALTER TABLE raw_away RENAME TO {RawInbound._meta.db_table}")
    assert response.status_code == 503
    assert response.json()["error"] == "unavailable"


def _sent_reply(email_inbox, post_email, agent, capture) -> Message:
    post_email(email_inbox, mail(sender="paula@example.cz"))
    with capture(execute=True):
        reply = record_reply(ticket=Ticket.objects.get(), author=agent, text="Dobrý den").message
    reply.refresh_from_db()
    assert reply.delivery_state == Delivery.SENT
    return reply


def test_a_mailgun_permanent_failure_fails_the_reply_and_suppresses_the_address(
    client, email_inbox, post_email, agent, django_capture_on_commit_callbacks
):
    reply = _sent_reply(email_inbox, post_email, agent, django_capture_on_commit_callbacks)
    event = {
        "signature": _mailgun_signature(),
        "event-data": {
            "event": "failed",
            "severity": "permanent",
            "timestamp": time.time(),
            "recipient": "paula@example.cz",
            "message": {"headers": {"message-id": "20261124.mailgun@helpdesk.example"}},
            "user-variables": {"helpdesk_message": str(reply.pk)},
            "delivery-status": {"description": "", "message": "550 5.1.1 mailbox unavailable"},
        },
    }
    response = client.post(
        "/anymail/mailgun/tracking/",
        data=json.dumps(event),
        content_type="application/json",
        **_auth(),
    )
    assert response.status_code == 200
    reply.refresh_from_db()
    assert reply.delivery_state == Delivery.FAILED
    assert "mailbox unavailable" in reply.delivery_error
    assert SuppressedAddress.objects.filter(address="paula@example.cz").exists()


def test_a_postmark_spam_complaint_suppresses_automatic_mail_but_keeps_the_state(
    client, email_inbox, post_email, agent, django_capture_on_commit_callbacks
):
    reply = _sent_reply(email_inbox, post_email, agent, django_capture_on_commit_callbacks)
    event = {
        "RecordType": "SpamComplaint",
        "Type": "SpamComplaint",
        "Email": "paula@example.cz",
        "MessageID": "883953f4-6105-42a2-a16a-77a8eac79483",
        "Metadata": {"helpdesk_message": str(reply.pk)},
        "BouncedAt": "2026-11-24T10:00:00Z",
    }
    response = client.post(
        "/anymail/postmark/tracking/",
        data=json.dumps(event),
        content_type="application/json",
        **_auth(),
    )
    assert response.status_code == 200
    reply.refresh_from_db()
    assert reply.delivery_state == Delivery.SENT
    assert SuppressedAddress.objects.filter(address="paula@example.cz").exists()


def test_a_tracking_event_for_a_message_that_is_not_ours_changes_nothing(
    client, email_inbox, post_email, agent, django_capture_on_commit_callbacks
):
    reply = _sent_reply(email_inbox, post_email, agent, django_capture_on_commit_callbacks)
    inbound = Message.objects.filter(direction="in").get()
    event = {
        "RecordType": "Bounce",
        "Type": "HardBounce",
        "Email": "paula@example.cz",
        "MessageID": "x",
        "Metadata": {"helpdesk_message": str(inbound.pk)},
    }
    client.post(
        "/anymail/postmark/tracking/",
        data=json.dumps(event),
        content_type="application/json",
        **_auth(),
    )
    inbound.refresh_from_db()
    reply.refresh_from_db()
    assert inbound.delivery_state == Delivery.RECEIVED
    assert reply.delivery_state == Delivery.SENT
