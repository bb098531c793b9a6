import pytest

from tickets.models import Delivery, EventKind, Message, TimelineEvent

from .checks import assert_error

pytestmark = pytest.mark.django_db


def replies_url(ticket):
    return f"/api/v1/tickets/{ticket.pk}/replies/"


def test_a_reply_goes_out_on_the_tickets_channel(api, agent, jan):
    _, mail_ticket, _ = jan

    response = api.post(replies_url(mail_ticket), {"text": "It ships tomorrow."}, format="json")

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["channel"] == "email" and body["direction"] == "out" and not body["is_note"]
    assert body["delivery_state"] == Delivery.PENDING
    assert body["author"]["id"] == agent.pk and body["text"] == "It ships tomorrow."
    mail_ticket.refresh_from_db()
    assert mail_ticket.status == "open" and mail_ticket.first_response_at


def test_a_reply_can_go_out_on_another_channel_and_set_the_status(api, jan, sms_inbox):
    _, mail_ticket, _ = jan

    response = api.post(
        replies_url(mail_ticket),
        {"html": "<b>Shipped</b> today", "channel": "sms", "status": "solved"},
        format="json",
    )

    assert response.status_code == 201, response.content
    message = Message.objects.get(pk=response.json()["id"])
    assert message.channel == "sms" and message.inbox == sms_inbox
    assert message.body_text == "Shipped today"
    mail_ticket.refresh_from_db()
    assert mail_ticket.status == "solved" and mail_ticket.last_channel == "sms"


def test_the_same_idempotency_key_returns_the_same_reply(api, jan):
    _, mail_ticket, _ = jan
    before = (Message.objects.count(), TimelineEvent.objects.count())

    first = api.post(
        replies_url(mail_ticket), {"text": "Hello"}, format="json", HTTP_IDEMPOTENCY_KEY="k-1"
    )
    again = api.post(
        replies_url(mail_ticket), {"text": "Hello"}, format="json", HTTP_IDEMPOTENCY_KEY="k-1"
    )

    assert first.status_code == 201 and again.status_code == 200
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert Message.objects.count() == before[0] + 1
    # The message and the status change (new -> open), once.
    assert TimelineEvent.objects.count() == before[1] + 2


def test_a_key_used_by_someone_else_is_a_conflict(api, manager_api, jan):
    _, mail_ticket, sms_ticket = jan
    api.post(replies_url(mail_ticket), {"text": "Hello"}, format="json", HTTP_IDEMPOTENCY_KEY="k-2")
    count = Message.objects.count()

    assert_error(
        manager_api.post(
            replies_url(mail_ticket), {"text": "Hi"}, format="json", HTTP_IDEMPOTENCY_KEY="k-2"
        ),
        409,
        "conflict",
    )
    assert_error(
        api.post(
            replies_url(sms_ticket), {"text": "Hi"}, format="json", HTTP_IDEMPOTENCY_KEY="k-2"
        ),
        409,
    )
    assert Message.objects.count() == count


def test_an_overlong_key_is_refused(api, jan):
    _, mail_ticket, _ = jan

    body = assert_error(
        api.post(
            replies_url(mail_ticket), {"text": "x"}, format="json", HTTP_IDEMPOTENCY_KEY="k" * 101
        ),
        400,
    )
    assert list(body["fields"]) == ["Idempotency-Key"]


@pytest.mark.parametrize(
    ("payload", "status", "code", "words"),
    [
        ({"text": ""}, 400, "invalid", "text"),
        ({"html": "<p> </p>"}, 400, "reply_error", "cannot be empty"),
        ({"text": "x", "channel": "pigeon"}, 400, "invalid", "channel"),
        ({"text": "x", "channel": "messenger"}, 400, "reply_error", "no Messenger contact"),
        ({"text": "x", "status": "gone"}, 400, "invalid", "status"),
        ({"text": "x" * 50_001}, 400, "reply_error", "at most 50000 characters"),
        ({"text": "x", "cc": "boss@example.com"}, 400, "invalid", "Unknown field"),
    ],
)
def test_a_bad_reply_is_refused_and_nothing_stored(api, jan, payload, status, code, words):
    _, mail_ticket, _ = jan
    before = (Message.objects.count(), TimelineEvent.objects.count())

    body = assert_error(api.post(replies_url(mail_ticket), payload, format="json"), status, code)

    assert words in body["detail"]
    assert (Message.objects.count(), TimelineEvent.objects.count()) == before
    mail_ticket.refresh_from_db()
    assert mail_ticket.status == "new"


def test_agents_cannot_reply_to_another_teams_ticket(other_api, jan):
    _, mail_ticket, _ = jan
    count = Message.objects.count()

    assert_error(other_api.post(replies_url(mail_ticket), {"text": "Hi"}, format="json"), 404)
    assert_error(
        other_api.post(f"/api/v1/tickets/{mail_ticket.pk}/notes/", {"text": "Hi"}, format="json"),
        404,
    )
    assert Message.objects.count() == count


def test_a_note_is_internal(api, agent, jan):
    _, _, sms_ticket = jan

    response = api.post(
        f"/api/v1/tickets/{sms_ticket.pk}/notes/", {"text": "  Called him back.  "}, format="json"
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["is_note"] and body["text"] == "Called him back."
    assert body["delivery_state"] == Delivery.SENT  # never queued for sending
    event = TimelineEvent.objects.get(message_id=body["id"])
    assert event.kind == EventKind.NOTE and event.actor == agent


def test_an_empty_note_is_refused(api, jan):
    _, _, sms_ticket = jan
    url = f"/api/v1/tickets/{sms_ticket.pk}/notes/"

    assert_error(api.post(url, {}, format="json"), 400, "invalid")
    assert_error(api.post(url, {"text": "   "}, format="json"), 400, "invalid")
    assert not Message.objects.filter(is_note=True).exists()


@pytest.mark.parametrize(
    ("language", "detail"),
    [
        (None, "The customer has no Messenger contact to reply to."),
        ("pl", "Klient nie ma kontaktu w kanale Messenger, na który można odpowiedzieć."),
        ("cs", "Zákazník nemá v kanálu Messenger žádný kontakt, na který lze odpovědět."),
    ],
)
def test_a_workflow_error_speaks_the_language_of_the_request(
    api, jan, compiled_locale, language, detail
):
    _, mail_ticket, _ = jan
    headers = {"HTTP_ACCEPT_LANGUAGE": language} if language else {}

    response = api.post(
        replies_url(mail_ticket), {"text": "x", "channel": "messenger"}, format="json", **headers
    )

    assert assert_error(response, 400, "reply_error")["detail"] == detail
