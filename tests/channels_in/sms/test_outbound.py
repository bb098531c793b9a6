"""Replies by SMS: through the official twilio client to the API stand-in, then the
status callbacks that move each one's delivery state forward."""

import base64

import pytest

from channels_in.inboxes import create_inbox
from channels_in.models import RawInbound
from channels_in.tasks import send_outbound
from tickets.merge import link_identity
from tickets.models import Channel, Delivery, IdentityKind, Message
from tickets.replies import record_reply

from .forms import ACCOUNT_SID, AUTH_TOKEN, CUSTOMER, OUR_NUMBER, inbound_text, status_callback

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def conversation(sms_inbox, post_sms):
    post_sms(sms_inbox, inbound_text("Dzień dobry, kiedy dostawa?"))
    return Message.objects.get().ticket


def reply(ticket, agent, text="Dzień dobry! Paczka wyjedzie jutro rano."):
    message = record_reply(ticket=ticket, author=agent, text=text).message
    message.refresh_from_db()
    return message


def test_a_reply_goes_to_twilio_with_the_right_fields_once(
    sms_inbox, conversation, agent, settings, provider_api, twilio_messages
):
    sid = twilio_messages()

    message = reply(conversation, agent)

    assert message.delivery_state == Delivery.SENT and message.external_id == sid
    (sent,) = provider_api.received("POST", twilio_messages.path)
    assert sent.path == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
    assert sent.form == {
        "To": [CUSTOMER],
        "From": [OUR_NUMBER],
        "Body": ["Dzień dobry! Paczka wyjedzie jutro rano."],
        "StatusCallback": [f"{settings.PUBLIC_BASE_URL}/inbound/sms/{sms_inbox.key}/"],
    }
    credentials = base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()
    assert sent.headers["authorization"] == f"Basic {credentials}"
    # The task delivered again (an at-least-once queue) sends nothing more.
    assert send_outbound(message.pk) == "skipped"
    assert len(provider_api.received("POST", twilio_messages.path)) == 1


def test_status_callbacks_move_the_delivery_state_forward_only(
    sms_inbox, conversation, agent, post_sms, twilio_messages
):
    sid = twilio_messages()
    message = reply(conversation, agent)

    def state_after(status: str) -> str:
        response = post_sms(sms_inbox, status_callback(sid, status))
        assert response.status_code == 200 and response["Content-Type"].startswith("text/xml")
        message.refresh_from_db()
        return message.delivery_state

    assert state_after("queued") == Delivery.SENT
    assert state_after("sent") == Delivery.SENT
    assert state_after("delivered") == Delivery.DELIVERED
    # A late "sending" (callbacks may arrive out of order) does not move it back.
    assert state_after("sending") == Delivery.DELIVERED
    stored = RawInbound.objects.count()
    # The same callback again is stored once.
    assert state_after("sent") == Delivery.DELIVERED
    assert RawInbound.objects.count() == stored
    assert message.delivery_error == ""


def test_an_undelivered_text_is_failed_with_a_readable_reason(
    sms_inbox, conversation, agent, post_sms, twilio_messages
):
    sid = twilio_messages()
    message = reply(conversation, agent)

    post_sms(sms_inbox, status_callback(sid, "sent"))
    post_sms(sms_inbox, status_callback(sid, "undelivered", error_code="30003"))

    message.refresh_from_db()
    assert message.delivery_state == Delivery.FAILED
    assert message.delivery_error == (
        "Twilio 30003: the phone is unreachable (switched off or out of coverage)"
    )


def test_an_invalid_number_fails_at_once_with_twilios_reason(
    sms_inbox, conversation, agent, provider_api, twilio_messages
):
    provider_api.answer(
        "POST",
        twilio_messages.path,
        status=400,
        json_body={
            "code": 21211,
            "message": "The 'To' number +48601234567 is not a valid phone number.",
            "more_info": "https://www.twilio.com/docs/errors/21211",
            "status": 400,
        },
    )

    message = reply(conversation, agent)

    assert message.delivery_state == Delivery.FAILED
    assert message.delivery_error == (
        "Twilio 21211: The 'To' number +48601234567 is not a valid phone number."
    )
    # Permanent: not retried.
    assert len(provider_api.received("POST", twilio_messages.path)) == 1
    assert send_outbound(message.pk) == "skipped"


def test_an_unsubscribed_recipient_is_a_permanent_failure(
    sms_inbox, conversation, agent, provider_api, twilio_messages
):
    provider_api.answer(
        "POST",
        twilio_messages.path,
        status=400,
        json_body={
            "code": 21610,
            "message": "Attempt to send to unsubscribed recipient",
            "more_info": "https://www.twilio.com/docs/errors/21610",
            "status": 400,
        },
    )

    message = reply(conversation, agent)

    assert message.delivery_state == Delivery.FAILED
    assert message.delivery_error == "Twilio 21610: Attempt to send to unsubscribed recipient"


@pytest.mark.django_db(transaction=False)
def test_twilio_unavailable_puts_the_reply_back_for_a_retry(
    sms_inbox, post_sms, agent, provider_api, twilio_messages
):
    sid = twilio_messages()
    provider_api.answer(
        "POST", twilio_messages.path, status=503, body=b"Service Unavailable", times=1
    )
    post_sms(sms_inbox, inbound_text("Dzień dobry"))
    # Not committed in this test, so the send task waits: we run it by hand.
    message = reply(Message.objects.get().ticket, agent)
    assert message.delivery_state == Delivery.PENDING
    retried = []

    assert send_outbound(message.pk, retry=retried.append) == Delivery.PENDING

    message.refresh_from_db()
    assert message.delivery_state == Delivery.PENDING and "503" in message.delivery_error
    assert len(retried) == 1 and retried[0].permanent is False
    assert send_outbound(message.pk, retry=retried.append) == Delivery.SENT
    message.refresh_from_db()
    assert message.external_id == sid and message.delivery_error == ""
    assert len(provider_api.received("POST", twilio_messages.path)) == 2


@pytest.mark.django_db(transaction=False)
def test_twilio_unreachable_is_retried_too(sms_inbox, post_sms, agent, settings):
    # Nothing listens on this port: the connection is refused.
    settings.TWILIO_API_BASE_URL = "http://127.0.0.1:9"
    post_sms(sms_inbox, inbound_text("Dzień dobry"))
    message = reply(Message.objects.get().ticket, agent)
    retried = []

    assert send_outbound(message.pk, retry=retried.append) == Delivery.PENDING
    message.refresh_from_db()
    assert "Twilio" in message.delivery_error and len(retried) == 1


def test_the_number_the_customer_last_texted_from_is_the_one_answered(
    sms_inbox, post_sms, agent, provider_api, twilio_messages
):
    twilio_messages()
    post_sms(sms_inbox, inbound_text("Piszę z drugiego telefonu", sender="+48601234568"))
    ticket = Message.objects.get().ticket
    # Another number of theirs, noted later by an agent.
    link_identity(customer=ticket.customer, kind=IdentityKind.PHONE, value="+48 601 234 569")

    reply(ticket, agent)

    (sent,) = provider_api.received("POST", twilio_messages.path)
    assert sent.form["To"] == ["+48601234568"]


def test_an_inbox_without_a_sender_number_fails_saying_what_to_set(
    team, agent, post_sms, provider_api
):
    inbox = create_inbox(
        channel=Channel.SMS,
        name="Half set up",
        team=team,
        config={"account_sid": ACCOUNT_SID},
        secrets={"auth_token": AUTH_TOKEN},
    )
    post_sms(inbox, inbound_text("Dzień dobry"))

    message = reply(Message.objects.get().ticket, agent)

    assert message.delivery_state == Delivery.FAILED
    assert "phone_number" in message.delivery_error
    assert "messaging_service_sid" in message.delivery_error
    assert provider_api.requests == []


def test_a_messaging_service_sends_when_no_number_is_set(
    team, agent, post_sms, provider_api, twilio_messages
):
    twilio_messages()
    inbox = create_inbox(
        channel=Channel.SMS,
        name="Service",
        team=team,
        config={"account_sid": ACCOUNT_SID, "messaging_service_sid": "MG" + "1" * 32},
        secrets={"auth_token": AUTH_TOKEN},
    )
    post_sms(inbox, inbound_text("Dzień dobry"))

    reply(Message.objects.get().ticket, agent)

    (sent,) = provider_api.received("POST", twilio_messages.path)
    assert sent.form["MessagingServiceSid"] == ["MG" + "1" * 32]
    assert "From" not in sent.form


def test_a_reply_longer_than_twilio_takes_fails_with_the_reason_and_is_not_sent(
    conversation, agent, provider_api
):
    message = reply(conversation, agent, text="Paczka " * 230)  # 1,610 characters

    assert message.delivery_state == Delivery.FAILED
    assert "at most 1600 characters" in message.delivery_error
    assert provider_api.requests == []
