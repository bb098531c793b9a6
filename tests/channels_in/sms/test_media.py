"""MMS: the pictures Twilio holds for a message are fetched after it is stored."""

import base64

import pytest

from channels_in.tasks import fetch_media
from tickets.models import Message

from .forms import ACCOUNT_SID, AUTH_TOKEN, inbound_text, new_sid

pytestmark = pytest.mark.django_db(transaction=True)

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 2000 + b"\xff\xd9"


def test_the_task_fetches_the_media_with_the_accounts_credentials(
    sms_inbox, post_sms, provider_api
):
    mms, media_sid = new_sid("MM"), new_sid("ME")
    path = f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/{mms}/Media/{media_sid}"
    provider_api.answer("GET", f"^{path}$", body=JPEG, content_type="image/jpeg")
    params = inbound_text(
        "Zdjęcie uszkodzonej paczki", sid=mms, media=((provider_api.base_url + path, "image/jpeg"),)
    )

    response = post_sms(sms_inbox, params)

    assert response.status_code == 200
    # Queued when the message committed; the embedded queue ran it at once.
    message = Message.objects.get(external_id=mms)
    attachment = message.attachments.get()
    assert attachment.content_type == "image/jpeg" and attachment.size == len(JPEG)
    assert attachment.content_id == f"media:{media_sid}"
    assert attachment.file.read() == JPEG
    (fetched,) = provider_api.received("GET", "/Media/")
    assert fetched.path == path
    credentials = base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()
    assert fetched.headers["authorization"] == f"Basic {credentials}"

    # Run again (a redelivered task): nothing is fetched or stored twice.
    assert fetch_media(message.pk) == 0
    assert message.attachments.count() == 1
    assert len(provider_api.received("GET", "/Media/")) == 1


def test_a_media_url_on_another_host_is_not_fetched(sms_inbox, post_sms, provider_api):
    mms = new_sid("MM")
    elsewhere = f"https://media.example.net/2010-04-01/Accounts/{ACCOUNT_SID}/Media/ME1234"
    params = inbound_text("", sid=mms, media=((elsewhere, "image/jpeg"),))

    response = post_sms(sms_inbox, params)

    assert response.status_code == 200
    message = Message.objects.get(external_id=mms)
    assert message.attachments.count() == 0
    assert "media.example.net" in message.meta["media_errors"]["ME1234"]
    assert provider_api.requests == []


def test_media_twilio_no_longer_has_is_noted_not_retried(sms_inbox, post_sms, provider_api):
    mms, media_sid = new_sid("MM"), new_sid("ME")
    path = f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/{mms}/Media/{media_sid}"
    provider_api.answer("GET", f"^{path}$", status=404, json_body={"code": 20404})
    params = inbound_text("", sid=mms, media=((provider_api.base_url + path, "image/png"),))

    post_sms(sms_inbox, params)

    message = Message.objects.get(external_id=mms)
    assert message.attachments.count() == 0
    assert "404" in message.meta["media_errors"][media_sid]
    assert len(provider_api.received("GET", "/Media/")) == 1
