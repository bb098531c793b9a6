"""STOP, START and HELP: an opted-out number gets nothing from the inbox until START."""

from xml.etree import ElementTree

import pytest

from channels_in.adapters.sms import HELP_TEXT
from channels_in.inboxes import create_inbox
from channels_in.models import SmsOptOut
from channels_in.registry import get_adapter
from channels_in.tasks import send_outbound
from tickets.models import Channel, Delivery, Direction, Message
from tickets.replies import ReplyError, record_reply

from .forms import ACCOUNT_SID, AUTH_TOKEN, CUSTOMER, OUR_NUMBER, inbound_text

pytestmark = pytest.mark.django_db(transaction=True)


def twiml_messages(response) -> list[str]:
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/xml")
    return [m.text or "" for m in ElementTree.fromstring(response.content).iter("Message")]


@pytest.fixture
def conversation(sms_inbox, post_sms):
    """A customer who texted the inbox: their ticket."""
    post_sms(sms_inbox, inbound_text("Dzień dobry, kiedy dostawa?"))
    return Message.objects.get().ticket


def test_stop_records_the_opt_out_and_a_reply_by_sms_is_refused_with_the_reason(
    sms_inbox, post_sms, conversation, agent, provider_api
):
    response = post_sms(sms_inbox, inbound_text("STOP"))

    # Twilio's Advanced Opt-Out confirms STOP itself: we add nothing.
    assert twiml_messages(response) == []
    opt_out = SmsOptOut.objects.get()
    assert (opt_out.inbox_id, opt_out.phone, opt_out.keyword) == (sms_inbox.pk, CUSTOMER, "STOP")
    stop = Message.objects.get(body_text="STOP")
    assert stop.ticket_id == conversation.pk and stop.meta["sms_keyword"] == "stop"
    with pytest.raises(ReplyError) as refused:
        record_reply(ticket=conversation, author=agent, text="Czy mogę jeszcze pomóc?")
    reason = str(refused.value)
    assert "“STOP”" in reason and "+48 601 234 567" in reason
    assert "START" in reason and "another channel" in reason
    assert not Message.objects.filter(direction=Direction.OUT).exists()
    assert provider_api.requests == []


def test_any_stop_word_in_any_case_opts_out_once(sms_inbox, post_sms, conversation):
    params = inbound_text("  Unsubscribe \n")

    post_sms(sms_inbox, params)
    post_sms(sms_inbox, params)
    post_sms(sms_inbox, inbound_text("stop"))

    opt_out = SmsOptOut.objects.get()
    assert opt_out.keyword == "UNSUBSCRIBE"


def test_a_sentence_with_stop_in_it_is_no_opt_out(sms_inbox, post_sms, conversation):
    post_sms(sms_inbox, inbound_text("Stop, proszę wstrzymać wysyłkę"))

    assert not SmsOptOut.objects.exists()


@pytest.mark.django_db(transaction=False)
def test_a_reply_queued_before_the_stop_is_not_sent(
    sms_inbox, post_sms, agent, provider_api, twilio_messages
):
    twilio_messages()
    post_sms(sms_inbox, inbound_text("Dzień dobry, kiedy dostawa?"))
    ticket = Message.objects.get().ticket
    # Recorded and waiting in the outbox (its send task has not run yet)...
    reply = record_reply(ticket=ticket, author=agent, text="Jutro rano.").message
    assert Message.objects.get(pk=reply.pk).delivery_state == Delivery.PENDING
    # ...when the customer texts STOP.
    post_sms(sms_inbox, inbound_text("STOP"))

    assert send_outbound(reply.pk) == Delivery.FAILED

    reply.refresh_from_db()
    assert reply.delivery_state == Delivery.FAILED
    assert "“STOP”" in reply.delivery_error and "START" in reply.delivery_error
    assert provider_api.requests == []


def test_start_lifts_the_opt_out(
    sms_inbox, post_sms, conversation, agent, provider_api, twilio_messages
):
    sid = twilio_messages()
    post_sms(sms_inbox, inbound_text("STOP"))

    response = post_sms(sms_inbox, inbound_text("start"))

    assert twiml_messages(response) == []
    assert not SmsOptOut.objects.exists()
    reply = record_reply(ticket=conversation, author=agent, text="Witamy ponownie!").message
    reply.refresh_from_db()
    assert reply.delivery_state == Delivery.SENT and reply.external_id == sid
    (sent,) = provider_api.received("POST", twilio_messages.path)
    assert sent.form["To"] == [CUSTOMER]


def test_an_opt_out_is_per_inbox(sms_inbox, post_sms, conversation, django_assert_num_queries):
    other = create_inbox(
        channel=Channel.SMS,
        name="SMS Billing",
        config={"account_sid": ACCOUNT_SID, "phone_number": "+48500600701"},
        secrets={"auth_token": AUTH_TOKEN},
    )
    post_sms(sms_inbox, inbound_text("STOP"))

    adapter = get_adapter(Channel.SMS)
    with django_assert_num_queries(1):  # the check runs whenever an agent opens the reply box
        assert not adapter.reach(ticket=conversation, inbox=sms_inbox).available
    assert adapter.reach(ticket=conversation, inbox=other).available


def test_help_is_answered_in_the_inboxs_language(post_sms, team, compiled_locale):
    inbox = create_inbox(
        channel=Channel.SMS,
        name="Sklep Kowalski",
        language="pl",
        team=team,
        config={"account_sid": ACCOUNT_SID, "phone_number": OUR_NUMBER},
        secrets={"auth_token": AUTH_TOKEN},
    )

    (answer,) = twiml_messages(post_sms(inbox, inbound_text("help")))

    assert answer == (
        "Sklep Kowalski: piszesz do naszego działu obsługi. Odpowiedz, aby się z nami "
        "skontaktować. Wyślij STOP, aby nie dostawać wiadomości."
    )
    help_message = Message.objects.get()
    assert help_message.meta["sms_keyword"] == "help"


def test_help_in_english_says_who_we_are_and_how_to_stop(sms_inbox, post_sms):
    (answer,) = twiml_messages(post_sms(sms_inbox, inbound_text(" INFO ")))

    assert answer == HELP_TEXT % {"inbox": "SMS Support"}


def test_an_opted_out_number_gets_no_help_text(sms_inbox, post_sms, conversation):
    post_sms(sms_inbox, inbound_text("STOP"))

    assert twiml_messages(post_sms(sms_inbox, inbound_text("HELP"))) == []
