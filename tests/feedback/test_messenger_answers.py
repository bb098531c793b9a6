"""Messenger surveys: the scores as quick replies, and the one tapped recorded without
reopening the solved ticket."""

from __future__ import annotations

import json

import pytest

from channels_in.inboxes import create_inbox
from feedback.models import Survey
from feedback.tasks import send_due_surveys
from tests.channels_in.messenger.conftest import (
    APP_SECRET,
    PAGE_ID,
    PAGE_TOKEN,
    PSID,
    message_event,
    sign,
    webhook,
)
from tickets.changes import update_ticket
from tickets.models import Channel, EventKind, Status, Ticket, TimelineEvent

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def page_inbox(db, team, settings):
    settings.INBOUND_PER_SENDER_PER_MINUTE = 10_000
    return create_inbox(
        channel=Channel.MESSENGER,
        name="Facebook page",
        team=team,
        config={"page_id": PAGE_ID},
        secrets={"app_secret": APP_SECRET, "page_access_token": PAGE_TOKEN},
    )


@pytest.fixture
def send_api(provider_api, settings):
    """Meta's Send API (and the profile read) on the stand-in; returns the Send API path."""
    version = settings.META_GRAPH_API_VERSION
    provider_api.answer("GET", rf"^/{version}/{PSID}$", json_body={"name": "Jiří Svoboda"})
    path = rf"^/{version}/me/messages$"
    provider_api.answer("POST", path, json_body={"recipient_id": PSID, "message_id": "m_sent"})
    return path


@pytest.fixture
def post_event(client):
    def _post(inbox, event):
        body = json.dumps(webhook(event)).encode()
        return client.post(
            f"/inbound/messenger/{inbox.key}/",
            data=body,
            content_type="application/json",
            HTTP_X_HUB_SIGNATURE_256=sign(body),
        )

    return _post


def quick_reply(title: str, payload: str) -> dict:
    event = message_event(title)
    event["message"]["quick_reply"] = {"payload": payload}
    return event


def test_it_offers_the_scores_as_quick_replies_and_records_the_one_tapped(
    page_inbox, send_api, post_event, provider_api, agent
):
    assert post_event(page_inbox, message_event("Where is my order?")).status_code == 200
    ticket = update_ticket(ticket=Ticket.objects.get(), actor=agent, status=Status.SOLVED)
    send_due_surveys()
    survey = Survey.objects.get(ticket=ticket)

    [sent] = provider_api.received("POST", send_api)
    message = sent.json()["message"]
    assert "Reply with a number from 1" in message["text"]
    assert [(q["title"], q["payload"]) for q in message["quick_replies"]] == [
        (f"{face} {n}", f"SURVEY:{survey.pk}:{n}")
        for n, face in zip(range(1, 6), "😠😞😐😊😀", strict=True)
    ]

    post_event(page_inbox, quick_reply("😀 5", f"SURVEY:{survey.pk}:5"))

    survey.refresh_from_db()
    assert (survey.score, survey.answered_via) == (5, "messenger")
    ticket.refresh_from_db()
    assert ticket.status == Status.SOLVED
    assert not TimelineEvent.objects.filter(kind=EventKind.REOPENED).exists()


def test_a_quick_reply_of_another_survey_records_nothing(page_inbox, send_api, post_event, agent):
    post_event(page_inbox, message_event("Where is my order?"))
    ticket = update_ticket(ticket=Ticket.objects.get(), actor=agent, status=Status.SOLVED)
    send_due_surveys()
    survey = Survey.objects.get(ticket=ticket)

    post_event(page_inbox, quick_reply("5", f"SURVEY:{survey.pk + 1000}:5"))

    survey.refresh_from_db()
    assert survey.answered_at is None
