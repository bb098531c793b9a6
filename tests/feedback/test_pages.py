"""The public survey page: signed, expiring, single-use links; nothing recorded on a GET."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

import pytest
import time_machine
from django.core import signing
from django.utils import timezone

from feedback.models import Survey
from feedback.surveys import SALT, link_for
from tickets.models import EventKind, Status, TimelineEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def survey(inbox, receive, solve):
    ticket = solve(receive(inbox).ticket)
    return Survey.objects.get(ticket=ticket)


def path_of(url: str) -> str:
    return urlsplit(url).path


def test_it_records_nothing_when_the_link_is_only_opened(client, survey):
    # A mail security scanner opens every link in the message, twice even.
    for _ in range(2):
        response = client.get(path_of(link_for(survey, 4)))
        assert response.status_code == 200
    html = response.content.decode()
    assert 'value="4" required checked' in html
    assert html.count("checked") == 1
    assert "Send my answer" in html and 'name="comment"' in html
    survey.refresh_from_db()
    assert survey.answered_at is None and survey.score is None
    assert not TimelineEvent.objects.filter(kind=EventKind.SURVEY_ANSWERED).exists()
    assert response["Cache-Control"].startswith("max-age=0")


def test_it_records_the_confirmed_answer_with_its_comment_on_the_timeline(client, survey):
    path = path_of(link_for(survey, 4))

    # The customer changed their mind on the page: the pressed choice counts.
    response = client.post(path, {"score": "5", "comment": "  Quick and kind.  "})

    assert response.status_code == 200
    assert "We recorded your answer: 5 of 5." in response.content.decode()
    survey.refresh_from_db()
    assert (survey.score, survey.comment, survey.answered_via) == (5, "Quick and kind.", "link")
    event = TimelineEvent.objects.get(kind=EventKind.SURVEY_ANSWERED)
    assert event.customer_id == survey.ticket.customer_id and event.ticket_id == survey.ticket_id
    assert event.data["score"] == 5 and event.data["comment"] == "Quick and kind."
    survey.ticket.refresh_from_db()
    assert survey.ticket.status == Status.SOLVED


def test_it_refuses_a_link_used_twice(client, survey):
    path = path_of(link_for(survey, 2))
    assert client.post(path, {"score": "2"}).status_code == 200

    again = client.post(path, {"score": "5", "comment": "changed"})
    other_link = client.post(path_of(link_for(survey, 5)), {"score": "5"})

    assert again.status_code == 409 and other_link.status_code == 409
    assert "already been answered: 2 of 5" in again.content.decode()
    survey.refresh_from_db()
    assert (survey.score, survey.comment) == (2, "")
    assert TimelineEvent.objects.filter(kind=EventKind.SURVEY_ANSWERED).count() == 1
    # Opening it again shows the answer given, and changes nothing.
    assert client.get(path).status_code == 200


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda token: token[:-1] + ("A" if token[-1] != "A" else "B"), id="signature"),
        pytest.param(
            lambda token: signing.dumps({"s": 1, "v": 5}, salt="another.salt"), id="other-salt"
        ),
        pytest.param(
            lambda token: signing.dumps({"s": 1, "v": 5}, salt=SALT, key="not-our-secret-key"),
            id="other-key",
        ),
        pytest.param(lambda token: "not-a-token", id="garbage"),
    ],
)
def test_it_refuses_a_tampered_link(client, survey, tamper):
    token = path_of(link_for(survey, 5)).rstrip("/").rsplit("/", 1)[-1]
    path = f"/survey/{tamper(token)}/"

    shown = client.get(path)
    posted = client.post(path, {"score": "5"})

    assert shown.status_code == 400 and posted.status_code == 400
    assert "This survey link is not valid." in posted.content.decode()
    survey.refresh_from_db()
    assert survey.answered_at is None


def test_a_link_cannot_answer_another_survey(client, survey, inbox, receive, solve):
    other = Survey.objects.get(
        ticket=solve(receive(inbox, sender="eva@example.com", name="Eva").ticket)
    )
    token = path_of(link_for(survey, 5)).rstrip("/").rsplit("/", 1)[-1]
    payload, rest = token.split(":", 1)
    forged = signing.b64_encode(f'{{"s":{other.pk},"v":5}}'.encode()).decode() + ":" + rest

    assert client.post(f"/survey/{forged}/", {"score": "5"}).status_code == 400
    other.refresh_from_db()
    assert other.answered_at is None


def test_it_refuses_an_expired_link(client, survey, settings):
    path = path_of(link_for(survey, 4))

    with time_machine.travel(timezone.now() + timedelta(days=settings.SURVEY_EXPIRY_DAYS, hours=1)):
        shown = client.get(path)
        posted = client.post(path, {"score": "4"})

    assert shown.status_code == 410 and posted.status_code == 410
    assert "expired" in posted.content.decode()
    survey.refresh_from_db()
    assert survey.answered_at is None


@pytest.mark.parametrize("score", ["0", "6", "-1", "", "five", "4.5"])
def test_it_refuses_an_answer_out_of_range(client, survey, score):
    response = client.post(path_of(link_for(survey, 4)), {"score": score, "comment": "Hm"})

    assert response.status_code == 400
    html = response.content.decode()
    assert "Choose a number from 1 to 5." in html
    assert ">Hm</textarea>" in html  # what they wrote is kept
    survey.refresh_from_db()
    assert survey.answered_at is None and survey.score is None


def test_an_nps_link_takes_zero_to_ten(client, inbox, receive, solve):
    inbox.config = {"survey_kind": "nps"}
    inbox.save()
    survey = Survey.objects.get(ticket=solve(receive(inbox).ticket))

    assert client.post(path_of(link_for(survey, 0)), {"score": "11"}).status_code == 400
    assert client.post(path_of(link_for(survey, 0)), {"score": "0"}).status_code == 200
    survey.refresh_from_db()
    assert survey.score == 0


def test_it_speaks_the_customers_language_without_sign_in(client, inbox, receive, solve):
    ticket = receive(inbox, locale="pl").ticket
    assert ticket.customer.locale == "pl"
    survey = Survey.objects.get(ticket=solve(ticket))

    response = client.get(path_of(link_for(survey, 3)))

    assert response.status_code == 200
    assert '<html lang="pl">' in response.content.decode()
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in (
        response.content.decode()
    )


def test_the_agents_timeline_tells_of_the_survey_and_its_answer(client, survey, agent):
    client.post(path_of(link_for(survey, 4)), {"score": "4", "comment": "Fine"})
    client.force_login(agent)

    response = client.get(f"/agent/tickets/{survey.ticket_id}/")

    html = response.content.decode()
    assert "Satisfaction (CSAT) survey sent by Test" in html
    assert "The customer answered the Satisfaction (CSAT) survey: 4 of 5" in html
    assert "“Fine”" in html
