"""The reply box per channel: why a reply cannot go now (an SMS opt-out, Messenger's
24-hour window), the way out (the Human agent tag, another channel), and the
customer's contacts in the sidebar. Through the test client, on the real database;
SMS arrives as Twilio posts it (signed), Messenger messages through ingest()."""

from __future__ import annotations

import itertools
import re
from datetime import timedelta
from urllib.parse import urlencode

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from twilio.request_validator import RequestValidator

from channels_in.inboxes import create_inbox
from channels_in.models import SmsOptOut
from tickets.ingest import InboundMessage, SenderIdentity, ingest
from tickets.merge import link_identity
from tickets.models import Channel, Customer, Direction, Identity, IdentityKind, Message

pytestmark = pytest.mark.django_db

AUTH_TOKEN = "twilio-auth-token-for-agent-tests"
OUR_NUMBER = "+48500600700"
JAN = "+48601234567"
PSID = "2468013579135791"
_serial = itertools.count(1)


@pytest.fixture
def sms_inbox(team):
    return create_inbox(
        channel=Channel.SMS,
        name="SMS +48",
        team=team,
        config={"account_sid": "AC" + "0" * 32, "phone_number": OUR_NUMBER},
        secrets={"auth_token": AUTH_TOKEN},
    )


@pytest.fixture
def page_inbox(team):
    return create_inbox(
        channel=Channel.MESSENGER,
        name="Facebook page",
        team=team,
        config={"page_id": "112233445566778"},
        secrets={"app_secret": "app-secret-for-tests", "page_access_token": "EAAtoken"},
    )


@pytest.fixture
def text_us(client, settings):
    """text_us(inbox, body, sender=JAN): a text posted and signed as Twilio does."""

    def _text(inbox, body, sender=JAN):
        sid = f"SM{next(_serial):032x}"
        params = {
            "MessageSid": sid,
            "SmsSid": sid,
            "AccountSid": "AC" + "0" * 32,
            "From": sender,
            "To": OUR_NUMBER,
            "Body": body,
            "NumMedia": "0",
            "SmsStatus": "received",
            "ApiVersion": "2010-04-01",
        }
        path = f"/inbound/sms/{inbox.key}/"
        signature = RequestValidator(AUTH_TOKEN).compute_signature(
            settings.PUBLIC_BASE_URL + path, params
        )
        response = client.post(
            path,
            data=urlencode(params),
            content_type="application/x-www-form-urlencoded",
            HTTP_X_TWILIO_SIGNATURE=signature,
        )
        assert response.status_code == 200, response.content
        return Message.objects.get(external_id=sid)

    return _text


def messenger_writes(inbox, text, *, hours_ago: float, psid: str = PSID):
    """A Messenger message that reached us `hours_ago` hours ago."""
    return ingest(
        InboundMessage(
            inbox_id=inbox.pk,
            channel=Channel.MESSENGER,
            sender=SenderIdentity(kind=IdentityKind.MESSENGER, value=psid, name="Jiří Svoboda"),
            external_id=f"m_{next(_serial)}",
            text=text,
            received_at=timezone.now() - timedelta(hours=hours_ago),
            meta={"messenger": {"psid": psid}},
        )
    )


def ticket_url(ticket, name="ticket"):
    return reverse(f"agents:{name}", args=[ticket.pk])


def notice(html: str, channel: str) -> str:
    """The reply box's notice for one channel (its whole element)."""
    match = re.search(
        rf'<div class="reach-notice [^"]*" data-reach-for="{channel}"[^>]*>.*?\n  </div>',
        html,
        re.S,
    )
    assert match, f"no notice for {channel}"
    return match.group(0)


def option_label(html: str, channel: str) -> str:
    select = re.search(r'<select name="channel".*?</select>', html, re.S).group(0)
    return re.search(rf'<option value="{channel}"[^>]*>([^<]*)</option>', select).group(1)


def reply(client, ticket, text="Dzień dobry, paczka wyszła dziś.", headers=None, **fields):
    data = {"text": text, "idempotency_key": f"key-{next(_serial)}", **fields}
    return client.post(ticket_url(ticket, "ticket_reply"), data, **(headers or {}))


@pytest.fixture
def opted_out(sms_inbox, email_inbox, text_us, agent):
    """Jan texted a question, then STOP; he also has an email address."""
    ticket = text_us(sms_inbox, "Dzień dobry, gdzie jest moja paczka?").ticket
    text_us(sms_inbox, "STOP")
    link_identity(customer=ticket.customer, kind=IdentityKind.EMAIL, value="jan@example.com")
    return ticket


@pytest.fixture
def late_messenger(page_inbox, sms_inbox, agent):
    """Jiří wrote on Messenger 30 hours ago; he also has a phone number."""
    ticket = messenger_writes(page_inbox, "Dobrý den, kde je moje zásilka?", hours_ago=30).ticket
    link_identity(customer=ticket.customer, kind=IdentityKind.PHONE, value="601 234 567")
    return ticket


# --- What the reply box says --------------------------------------------------------------


def test_it_explains_an_sms_opt_out_and_offers_the_customers_email(client, agent, opted_out):
    assert SmsOptOut.objects.filter(phone=JAN).exists()  # the adapter recorded the STOP
    client.force_login(agent)

    html = client.get(ticket_url(opted_out)).content.decode()

    sms = notice(html, "sms")
    assert "hidden" not in sms.split(">", 1)[0]  # SMS is the chosen channel: shown
    assert "A reply by SMS cannot go now." in sms
    assert "texted “STOP”" in sms and "+48 601 234 567" in sms and "START" in sms
    assert 'data-reply-via="email"' in sms and "Reply by email instead" in sms
    assert 'name="send_tag"' not in sms  # no way to send an SMS anyway
    assert re.search(r'<div class="reach" id="reply-reach" role="status" aria-live="polite">', html)
    # "Send via" says where each reply goes, and which one cannot go.
    assert option_label(html, "sms") == "SMS · +48 601 234 567 (unavailable now)"
    assert option_label(html, "email") == "Email · jan@example.com"
    # Email is fine: its notice only says the conversation moves there, and is hidden.
    email = notice(html, "email")
    assert " hidden>" in email.split("\n", 1)[0]
    assert "Continues the conversation on Email (it is on SMS now)" in email
    # The sidebar: the number as people read it, and why SMS is paused.
    date = timezone.localtime(SmsOptOut.objects.get().created_at).strftime("%-d %b %Y")
    assert f"Texted STOP on {date} — SMS paused" in html
    assert "Now on SMS" in html


def test_it_explains_the_messenger_window_and_offers_the_human_agent_tag(
    client, agent, late_messenger
):
    client.force_login(agent)

    html = client.get(ticket_url(late_messenger)).content.decode()

    messenger = notice(html, "messenger")
    assert "A reply by Messenger cannot go now." in messenger
    assert "within 24 hours" in messenger and "1\xa0day ago" in messenger
    assert re.search(
        r'<input type="checkbox" name="send_tag" value="HUMAN_AGENT" id="[^"]+">', messenger
    )
    assert "Human agent tag — a person answering within 7 days" in messenger
    assert 'data-reply-via="sms"' in messenger and "Reply by SMS instead" in messenger
    assert option_label(html, "messenger") == "Messenger (needs a message tag)"
    assert option_label(html, "sms") == "SMS · +48 601 234 567"


def test_after_seven_days_messenger_offers_no_tag_only_other_channels(client, agent, page_inbox):
    ticket = messenger_writes(page_inbox, "Ahoj", hours_ago=24 * 8).ticket
    client.force_login(agent)

    html = client.get(ticket_url(ticket)).content.decode()

    messenger = notice(html, "messenger")
    assert 'name="send_tag"' not in messenger
    # Nothing else to switch to: the notice says what the agent can do.
    assert "no other contact a reply can go to now" in messenger
    assert option_label(html, "messenger") == "Messenger (unavailable now)"


def test_inside_the_window_it_says_when_the_window_closes(client, agent, page_inbox):
    ticket = messenger_writes(page_inbox, "Ahoj", hours_ago=18.5).ticket
    client.force_login(agent)

    html = client.get(ticket_url(ticket)).content.decode()

    messenger = notice(html, "messenger")
    assert "reach-ok" in messenger
    assert "Messenger window closes in 5 h" in messenger
    assert "data-closes-at=" in messenger and "%(duration)s" in messenger
    assert option_label(html, "messenger") == "Messenger"


# --- What a reply stores ----------------------------------------------------------------


def test_a_reply_with_the_human_agent_tag_keeps_the_tag_on_the_message(
    client, agent, late_messenger
):
    client.force_login(agent)

    response = reply(
        client, late_messenger, text="Dobrý den,\r\nzásilka je na cestě.", channel="messenger",
        send_tag="HUMAN_AGENT",
    )  # fmt: skip

    assert response.status_code == 302
    sent = Message.objects.get(ticket=late_messenger, direction=Direction.OUT)
    assert sent.channel == Channel.MESSENGER
    assert sent.meta["send"] == {"tag": "HUMAN_AGENT"}
    # One line break, as the SMS counter counted it; not the browser's CRLF.
    assert sent.body_text == "Dobrý den,\nzásilka je na cestě."


def test_a_messenger_reply_outside_the_window_without_the_tag_is_refused_with_the_reason(
    client, agent, late_messenger
):
    client.force_login(agent)

    response = reply(client, late_messenger, channel="messenger")

    assert response.status_code == 422
    html = response.content.decode()
    errors = re.search(r'<div class="form-errors" role="alert".*?</div>', html, re.S).group(0)
    assert "Not sent. The customer last wrote on Messenger" in errors
    assert "Messenger only allows replies within 24 hours" in errors
    assert "Human agent tag" in errors
    # Said once: the notice below keeps the tag and the way out, not the same words again.
    assert html.count("Messenger only allows replies within 24 hours") == 1
    # The text stays, and the notice with the tag is there to use.
    assert "Dzień dobry, paczka wyszła dziś." in html
    assert 'value="HUMAN_AGENT"' in notice(html, "messenger")
    assert not Message.objects.filter(direction=Direction.OUT).exists()


def test_the_htmx_reply_box_shows_the_reason_too(client, agent, late_messenger):
    client.force_login(agent)

    response = reply(
        client, late_messenger, channel="messenger", headers={"HTTP_HX_REQUEST": "true"}
    )

    assert response.status_code == 422
    html = response.content.decode()
    assert html.lstrip().startswith('<form id="reply-form"')
    assert "Messenger only allows replies within 24 hours" in html
    assert not Message.objects.filter(direction=Direction.OUT).exists()


def test_an_sms_reply_to_an_opted_out_number_is_refused_with_the_reason(client, agent, opted_out):
    client.force_login(agent)

    response = reply(client, opted_out, channel="sms")

    assert response.status_code == 422
    assert "so SMS to +48 601 234 567 is paused" in response.content.decode()
    assert not Message.objects.filter(direction=Direction.OUT).exists()


def test_a_tag_left_from_another_channel_does_not_go_with_the_reply(client, agent, late_messenger):
    client.force_login(agent)

    response = reply(client, late_messenger, channel="sms", send_tag="HUMAN_AGENT")

    assert response.status_code == 302
    sent = Message.objects.get(direction=Direction.OUT)
    assert sent.channel == Channel.SMS and "send" not in sent.meta


def test_a_reply_too_long_for_messenger_is_refused_before_it_is_stored(client, agent, page_inbox):
    ticket = messenger_writes(page_inbox, "Ahoj", hours_ago=1).ticket
    client.force_login(agent)

    response = reply(client, ticket, text="á" * 2001, channel="messenger")

    assert response.status_code == 422
    assert "Messenger takes at most 2000 characters; this reply has 2001." in (
        response.content.decode()
    )
    assert not Message.objects.filter(direction=Direction.OUT).exists()


def test_a_reply_too_long_for_one_sms_message_is_refused_before_it_is_stored(
    client, agent, sms_inbox, text_us
):
    ticket = text_us(sms_inbox, "Dzień dobry").ticket
    client.force_login(agent)

    response = reply(client, ticket, text="ż" * 1601, channel="sms")

    assert response.status_code == 422
    assert "An SMS can have at most 1600 characters; this reply has 1601." in (
        response.content.decode()
    )
    assert not Message.objects.filter(direction=Direction.OUT).exists()


# --- The customer's contacts ------------------------------------------------------------


def test_the_sidebar_shows_which_contacts_are_verified(client, agent, opted_out):
    client.force_login(agent)

    html = client.get(ticket_url(opted_out)).content.decode()

    contacts = re.search(r'<ul class="identities">.*?</ul>', html, re.S).group(0)
    phone = re.search(r"<li>\s*<span class=\"badge\">Phone</span>.*?</li>", contacts, re.S)
    email = re.search(r"<li>\s*<span class=\"badge\">Email address</span>.*?</li>", contacts, re.S)
    # A text from the number proves it; an address an agent linked does not.
    assert "+48 601 234 567" in phone.group(0) and "Verified" in phone.group(0)
    assert "Unverified" in email.group(0) and "jan@example.com" in email.group(0)


def test_an_agent_adds_a_phone_number_written_the_national_way(client, agent, late_messenger):
    client.force_login(agent)

    response = client.post(
        ticket_url(late_messenger, "ticket_link_identity"),
        {"kind": "phone", "value": "512 987 654"},
        follow=True,
    )

    assert response.status_code == 200
    assert Identity.objects.filter(
        customer=late_messenger.customer, kind=IdentityKind.PHONE, value="+48512987654"
    ).exists()
    html = response.content.decode()
    assert "+48 512 987 654 was added to Jiří Svoboda&#x27;s contacts." in html
    assert "+48 512 987 654" in re.search(r'<ul class="identities">.*?</ul>', html, re.S).group(0)


def test_a_number_that_is_not_one_is_refused_with_the_reason(client, agent, late_messenger):
    client.force_login(agent)
    before = Identity.objects.count()

    response = client.post(
        ticket_url(late_messenger, "ticket_link_identity"), {"kind": "phone", "value": "12 34"}
    )

    assert response.status_code == 422
    html = response.content.decode()
    assert "12 34 is not a phone number. Write it with its country code" in html
    assert re.search(r'<details class="add-contact" id="add-contact" open>', html)
    assert 'aria-invalid="true"' in html
    assert Identity.objects.count() == before


def test_another_customers_number_is_refused_and_suggests_merging(
    client, agent, late_messenger, sms_inbox, text_us
):
    other = text_us(sms_inbox, "Halo?", sender="+48512987654").ticket.customer
    client.force_login(agent)

    response = client.post(
        ticket_url(late_messenger, "ticket_link_identity"), {"kind": "phone", "value": "512987654"}
    )

    assert response.status_code == 422
    html = response.content.decode()
    assert f"belongs to customer #{other.pk}; merge the customers instead." in html
    assert not Identity.objects.filter(customer=late_messenger.customer, value="+48512987654")


# --- Queries ------------------------------------------------------------------------------


def _ticket_page_queries(client, ticket) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(ticket_url(ticket))
    assert response.status_code == 200
    return len(queries)


def test_the_ticket_page_makes_no_query_per_identity(client, agent, sms_inbox, text_us):
    # Two numbers against four: with one number there is no choosing which to text.
    two = text_us(sms_inbox, "Dzień dobry", sender="+48601234567").ticket
    link_identity(customer=two.customer, kind=IdentityKind.PHONE, value="+48601234566")
    four = text_us(sms_inbox, "Dzień dobry", sender="+48601234568").ticket
    for number in ("+48601234569", "+48601234570", "+48601234571"):
        link_identity(customer=four.customer, kind=IdentityKind.PHONE, value=number)
        # Each has opted out: the sidebar still reads them all in one query.
        text_us(sms_inbox, "STOP", sender=number)
    client.force_login(agent)

    assert Customer.objects.get(pk=four.customer_id).identities.count() == 4
    assert _ticket_page_queries(client, four) == _ticket_page_queries(client, two)


def test_the_ticket_page_makes_at_most_one_query_per_channel(
    client, agent, sms_inbox, page_inbox, email_inbox, widget_inbox, text_us
):
    one = text_us(sms_inbox, "Dzień dobry", sender="+48601234567").ticket
    four = text_us(sms_inbox, "Dzień dobry", sender="+48601234568").ticket
    link_identity(customer=four.customer, kind=IdentityKind.EMAIL, value="four@example.com")
    link_identity(customer=four.customer, kind=IdentityKind.WIDGET, value="visitor-four")
    # (Never written to the page: Messenger's reach() still looks that up.)
    link_identity(customer=four.customer, kind=IdentityKind.MESSENGER, value="psid-four")
    client.force_login(agent)

    html = client.get(ticket_url(four)).content.decode()
    assert all(option_label(html, c) for c in ("sms", "email", "messenger", "widget"))

    added_channels = 3  # email, Messenger, chat: each may ask its own question (reach)
    assert _ticket_page_queries(client, four) <= _ticket_page_queries(client, one) + added_channels
