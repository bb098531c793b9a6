"""POST /inbound/sms/<key>/: Twilio's signed form in, TwiML out, each text stored once."""

import secrets
from datetime import UTC, datetime
from urllib.parse import urlencode
from xml.etree import ElementTree

import pytest
import time_machine

from channels_in.models import RawInbound
from tickets.ingest import InboundMessage, SenderIdentity, ingest
from tickets.merge import link_identity
from tickets.models import Channel, EventKind, Identity, IdentityKind, Message, TimelineEvent

from .forms import AUTH_TOKEN, CUSTOMER, FORM, inbound_text, new_sid, sign, status_callback

pytestmark = pytest.mark.django_db(transaction=True)


def twiml_messages(response) -> list[str]:
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/xml")
    root = ElementTree.fromstring(response.content)
    assert root.tag == "Response"
    return [element.text or "" for element in root.iter("Message")]


def nothing_stored() -> bool:
    return RawInbound.objects.count() == 0 and Message.objects.count() == 0


def test_a_text_lands_on_the_senders_timeline_exactly_once(sms_inbox, post_sms):
    params = inbound_text("Dzień dobry, gdzie jest moja paczka?")

    first = post_sms(sms_inbox, params)
    again = post_sms(sms_inbox, params)

    assert twiml_messages(first) == [] and twiml_messages(again) == []
    message = Message.objects.get()
    assert message.external_id == params["MessageSid"]
    assert message.channel == Channel.SMS and message.inbox == sms_inbox
    assert message.body_text == "Dzień dobry, gdzie jest moja paczka?"
    identity = Identity.objects.get(kind=IdentityKind.PHONE)
    assert identity.value == CUSTOMER and identity.verified
    assert message.ticket.customer_id == identity.customer_id
    events = TimelineEvent.objects.filter(customer_id=identity.customer_id, kind=EventKind.MESSAGE)
    assert [event.message_id for event in events] == [message.pk]
    assert RawInbound.objects.count() == 1


def test_the_next_text_continues_the_same_conversation(sms_inbox, post_sms):
    post_sms(sms_inbox, inbound_text("Dzień dobry"))
    post_sms(sms_inbox, inbound_text("Zamówienie 1234"))

    assert Message.objects.count() == 2
    assert len({m.ticket_id for m in Message.objects.all()}) == 1


def test_a_number_already_noted_on_a_customer_lands_there_and_becomes_verified(
    sms_inbox, email_inbox, post_sms
):
    by_mail = ingest(
        InboundMessage(
            inbox_id=email_inbox.pk,
            channel=Channel.EMAIL,
            sender=SenderIdentity(kind=IdentityKind.EMAIL, value="jan@example.com", name="Jan"),
            external_id="<order-1@example.com>",
            text="Proszę o kontakt SMS-em.",
            continues_conversation=False,
        )
    )
    customer = by_mail.ticket.customer
    # An agent noted the number as the customer wrote it, without a country code.
    link_identity(customer=customer, kind=IdentityKind.PHONE, value="601 234 567")
    assert not Identity.objects.get(kind=IdentityKind.PHONE).verified

    post_sms(sms_inbox, inbound_text("To ja, Jan, w sprawie zamówienia.", sender="+48601234567"))

    message = Message.objects.get(channel=Channel.SMS)
    assert message.ticket.customer_id == customer.pk
    phone = Identity.objects.get(kind=IdentityKind.PHONE)
    assert phone.customer_id == customer.pk and phone.value == "+48601234567" and phone.verified
    timeline = TimelineEvent.objects.filter(customer_id=customer.pk, kind=EventKind.MESSAGE)
    assert {e.message.channel for e in timeline} == {Channel.EMAIL, Channel.SMS}


def test_a_number_written_another_way_is_stored_in_e164(sms_inbox, post_sms):
    post_sms(sms_inbox, inbound_text("Dobrý den", sender="+420 601 123 456"))
    post_sms(sms_inbox, inbound_text("Ještě jedna otázka", sender="+420601123456"))

    assert list(Identity.objects.values_list("value", flat=True)) == ["+420601123456"]
    assert Message.objects.get(body_text="Dobrý den").meta["from"] == "+420601123456"
    assert len({m.ticket_id for m in Message.objects.all()}) == 1


GOOD = inbound_text("Dzień dobry")


def _without(params: dict, name: str) -> dict:
    return {k: v for k, v in params.items() if k != name}


@pytest.mark.parametrize(
    "case, how, status, error",
    [
        ("accepted", {}, 200, None),
        ("forged signature", {"token": "not-the-token"}, 403, "forbidden"),
        ("signature of other fields", {"signed": {**GOOD, "Body": "x"}}, 403, "forbidden"),
        ("signature for another URL", {"signed_path": "/inbound/sms/other/"}, 403, "forbidden"),
        ("missing signature", {"unsigned": True}, 403, "forbidden"),
        ("not form-encoded", {"params": {}, "content_type": "application/json"}, 400, "malformed"),
        ("no MessageSid", {"params": _without(GOOD, "MessageSid")}, 400, "malformed"),
        ("not a sid", {"params": {**GOOD, "MessageSid": "x"}}, 400, "malformed"),
        ("no From", {"params": _without(GOOD, "From")}, 400, "malformed"),
    ],
)
def test_it_answers_each_case_with_the_contracted_status(
    client, sms_inbox, settings, case, how, status, error
):
    path = f"/inbound/sms/{sms_inbox.key}/"
    params = how.get("params", GOOD)
    url = settings.PUBLIC_BASE_URL + how.get("signed_path", path)
    signature = sign(url, how.get("signed", params), how.get("token", AUTH_TOKEN))
    content_type = how.get("content_type", FORM)
    body = urlencode(params) if content_type == FORM else '{"MessageSid": "SMx"}'
    headers = {} if how.get("unsigned") else {"HTTP_X_TWILIO_SIGNATURE": signature}

    response = client.post(path, data=body, content_type=content_type, **headers)

    assert response.status_code == status, case
    if error:
        assert response.json()["error"] == error and response.json()["detail"]
        assert nothing_stored(), case
    else:
        assert twiml_messages(response) == []
        assert Message.objects.count() == 1


def test_an_unknown_inbox_key_is_404_and_stores_nothing(client, sms_inbox, settings):
    path = "/inbound/sms/no-such-key/"
    response = client.post(
        path,
        data=urlencode(GOOD),
        content_type=FORM,
        HTTP_X_TWILIO_SIGNATURE=sign(settings.PUBLIC_BASE_URL + path, GOOD),
    )

    assert response.status_code == 404 and response.json()["error"] == "unknown_inbox"
    assert nothing_stored()


def test_an_sms_inbox_key_on_another_channel_is_404(client, sms_inbox):
    path = f"/inbound/email/{sms_inbox.key}/"
    response = client.post(path, data=urlencode(GOOD), content_type=FORM)

    assert response.status_code == 404
    assert nothing_stored()


def test_a_body_over_the_limit_is_413_and_stores_nothing(sms_inbox, post_sms, settings):
    settings.INBOUND_MAX_BYTES = 200

    response = post_sms(sms_inbox, inbound_text("x" * 300))

    assert response.status_code == 413 and response.json()["error"] == "too_large"
    assert nothing_stored()


def test_a_number_over_its_rate_gets_429_and_nothing_is_stored(sms_inbox, post_sms, settings):
    settings.INBOUND_PER_SENDER_PER_MINUTE = 2
    # A number no other test (or earlier run sharing the cache) has used.
    flooder = f"+48609{secrets.randbelow(10**6):06d}"
    texts = [inbound_text(f"Wiadomość {n}", sender=flooder) for n in range(4)]

    # Early in a minute, so the flood cannot straddle two of the limit's windows.
    with time_machine.travel(datetime(2026, 11, 25, 9, 30, 5, tzinfo=UTC), tick=True):
        statuses = [post_sms(sms_inbox, params).status_code for params in texts]
        calm = post_sms(sms_inbox, inbound_text("Dzień dobry", sender=f"+48608{flooder[-6:]}"))

    assert statuses == [200, 200, 429, 429]
    assert calm.status_code == 200, "one number's flood does not silence the others"
    assert Message.objects.filter(body_text__startswith="Wiadomość").count() == 2
    assert RawInbound.objects.count() == 3


def test_a_signature_made_with_another_inboxs_token_is_refused(sms_inbox, post_sms, settings):
    from channels_in.inboxes import create_inbox

    other = create_inbox(
        channel=Channel.SMS, name="Other", secrets={"auth_token": "another-account-token"}
    )
    path = f"/inbound/sms/{sms_inbox.key}/"
    signature = sign(settings.PUBLIC_BASE_URL + path, GOOD, other.secrets["auth_token"])

    response = post_sms(sms_inbox, GOOD, signature=signature)

    assert response.status_code == 403
    assert nothing_stored()


PROXY_URL = "https://helpdesk.example.com"
FORWARDED = {"HTTP_X_FORWARDED_HOST": "helpdesk.example.com", "HTTP_X_FORWARDED_PROTO": "https"}


@pytest.fixture
def behind_proxy(settings):
    """Served behind a reverse proxy that sets X-Forwarded-Host and -Proto; what
    TRUST_FORWARDED_HEADERS=True switches on in settings.py."""
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "helpdesk.example.com"]
    settings.USE_X_FORWARDED_HOST = True
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    return settings


def test_the_forwarded_url_counts_only_when_forwarded_headers_are_trusted(
    sms_inbox, post_sms, behind_proxy
):
    path = f"/inbound/sms/{sms_inbox.key}/"
    # Twilio was given the proxy's URL, not PUBLIC_BASE_URL.
    params = inbound_text("Dzień dobry")

    behind_proxy.TRUST_FORWARDED_HEADERS = False
    refused = post_sms(sms_inbox, params, url=PROXY_URL + path, **FORWARDED)
    behind_proxy.TRUST_FORWARDED_HEADERS = True
    accepted = post_sms(sms_inbox, params, url=PROXY_URL + path, **FORWARDED)

    assert refused.status_code == 403
    assert twiml_messages(accepted) == []
    assert Message.objects.count() == 1


def test_with_forwarded_headers_trusted_the_public_url_still_counts(
    sms_inbox, post_sms, behind_proxy
):
    behind_proxy.TRUST_FORWARDED_HEADERS = True

    response = post_sms(sms_inbox, inbound_text("Dzień dobry"), **FORWARDED)

    assert twiml_messages(response) == []


def test_a_status_callback_for_a_message_not_ours_is_stored_and_changes_nothing(
    sms_inbox, post_sms
):
    response = post_sms(sms_inbox, status_callback(new_sid(), "delivered"))

    assert twiml_messages(response) == []
    assert RawInbound.objects.get().state == RawInbound.State.IGNORED
    assert Message.objects.count() == 0
