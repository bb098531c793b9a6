"""SMS fixtures: an inbox on a Twilio account, and webhooks signed the way Twilio
signs them (the official RequestValidator over the public URL and the form)."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest

from channels_in.inboxes import create_inbox
from tickets.models import Channel

from .forms import ACCOUNT_SID, AUTH_TOKEN, FORM, OUR_NUMBER, new_sid, sign


@pytest.fixture(autouse=True)
def _room_under_the_rate_limit(settings):
    """Per-sender counters live in the cache (Redis when REDIS_URL is set), which
    outlives a test database: a run a minute after another meets the same inbox
    ids and numbers. The rate limit has its own test, with a number of its own."""
    settings.INBOUND_PER_SENDER_PER_MINUTE = 10_000


@pytest.fixture
def sms_inbox(db, team):
    return create_inbox(
        channel=Channel.SMS,
        name="SMS Support",
        team=team,
        config={"account_sid": ACCOUNT_SID, "phone_number": OUR_NUMBER},
        secrets={"auth_token": AUTH_TOKEN},
    )


@pytest.fixture
def post_sms(client, settings):
    """post_sms(inbox, params, signature=<Twilio's>, url=<signed URL>, **headers) -> response.

    Signed like Twilio does unless a signature is given ("" sends none).
    """

    def _post(inbox, params, *, signature=None, url=None, path=None, **extra):
        path = path or f"/inbound/sms/{inbox.key}/"
        if signature is None:
            signature = sign(url or settings.PUBLIC_BASE_URL + path, params)
        headers = {"HTTP_X_TWILIO_SIGNATURE": signature} if signature else {}
        return client.post(path, data=urlencode(params), content_type=FORM, **headers, **extra)

    return _post


@pytest.fixture
def twilio_messages(provider_api):
    """Twilio's Messages resource on the stand-in: answers each create with a new sid."""
    path = rf"^/2010-04-01/Accounts/{ACCOUNT_SID}/Messages\.json$"

    def _answer(sid: str | None = None, **fields) -> str:
        sid = sid or new_sid()
        provider_api.answer(
            "POST",
            path,
            status=201,
            json_body={
                "sid": sid,
                "account_sid": ACCOUNT_SID,
                "status": "queued",
                "direction": "outbound-api",
                "api_version": "2010-04-01",
                "num_segments": "1",
                "date_created": "Mon, 12 May 2025 09:30:00 +0000",
                "uri": f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/{sid}.json",
                **fields,
            },
        )
        return sid

    _answer.path = path
    return _answer
