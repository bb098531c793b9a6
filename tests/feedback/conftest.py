"""Survey fixtures: tickets solved through the real workflows, an SMS inbox on the
Twilio stand-in, and texts signed the way Twilio signs them."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest

from channels_in.inboxes import create_inbox
from feedback.tasks import send_due_surveys
from tests.channels_in.sms.forms import ACCOUNT_SID, AUTH_TOKEN, FORM, OUR_NUMBER, new_sid, sign
from tickets.changes import update_ticket
from tickets.models import Channel, Status


@pytest.fixture(autouse=True)
def _surveys_due_at_once(settings):
    """Surveys fall due as the ticket is solved; the delay has a test of its own."""
    settings.SURVEY_DELAY_MINUTES = 0


@pytest.fixture
def solve(agent, django_capture_on_commit_callbacks):
    """solve(ticket) -> the ticket, solved by an agent, its survey due and the beat run."""

    def _solve(ticket):
        with django_capture_on_commit_callbacks(execute=True):
            solved = update_ticket(ticket=ticket, actor=agent, status=Status.SOLVED)
        with django_capture_on_commit_callbacks(execute=True):
            send_due_surveys.delay().get()
        return solved

    return _solve


@pytest.fixture
def sms_inbox(db, team, settings):
    # Per-sender counters outlive a test database (Redis): room for every test's texts.
    settings.INBOUND_PER_SENDER_PER_MINUTE = 10_000
    return create_inbox(
        channel=Channel.SMS,
        name="SMS Support",
        team=team,
        config={"account_sid": ACCOUNT_SID, "phone_number": OUR_NUMBER},
        secrets={"auth_token": AUTH_TOKEN},
    )


@pytest.fixture
def post_sms(client, settings):
    """post_sms(inbox, params) -> the webhook's response, signed as Twilio signs it."""

    def _post(inbox, params):
        path = f"/inbound/sms/{inbox.key}/"
        signature = sign(settings.PUBLIC_BASE_URL + path, params)
        return client.post(
            path, data=urlencode(params), content_type=FORM, HTTP_X_TWILIO_SIGNATURE=signature
        )

    return _post


@pytest.fixture
def twilio_messages(provider_api):
    """Twilio's Messages resource on the stand-in; .sent() lists the texts we sent."""
    path = rf"^/2010-04-01/Accounts/{ACCOUNT_SID}/Messages\.json$"
    # Each of the first texts gets a sid of its own (the latest rule answers first).
    for times in (None, 1, 1, 1):
        sid = new_sid()
        provider_api.answer(
            "POST",
            path,
            status=201,
            times=times,
            json_body={
                "sid": sid,
                "account_sid": ACCOUNT_SID,
                "status": "queued",
                "direction": "outbound-api",
                "api_version": "2010-04-01",
                "num_segments": "1",
                "date_created": "Mon, 12 May 2025 09:30:00 +0000",
                "uri": f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/{sid}.json",
            },
        )

    class Texts:
        @staticmethod
        def sent() -> list[dict[str, list[str]]]:
            return [request.form for request in provider_api.received("POST", path)]

    return Texts()
