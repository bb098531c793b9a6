"""Replies on Messenger: record_reply() and the outbox task against the Send API
stand-in, Messenger's 24-hour window and the Human agent tag, delivery and read
receipts, and what each of Meta's errors becomes."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from django.utils import timezone

from channels_in.adapters.messenger import MAX_TEXT_CHARS
from channels_in.registry import get_adapter
from channels_in.tasks import send_outbound
from tickets.models import Delivery, Message
from tickets.replies import ReplyError, record_reply

from .conftest import PAGE_TOKEN, PSID, now_ms, receipt_event, webhook

pytestmark = pytest.mark.django_db

OUTSIDE_WINDOW = {
    "error": {
        "message": "(#10) This message is sent outside of allowed window.",
        "type": "OAuthException",
        "code": 10,
        "error_subcode": 2018278,
        "fbtrace_id": "A1b2C3d4E5f",
    }
}


def reply(ticket, agent, text="Dzień dobry, już sprawdzam.", **fields):
    """An agent's reply, recorded and left in the outbox (the test runs the task)."""
    message = record_reply(ticket=ticket, author=agent, text=text, **fields).message
    assert Message.objects.get(pk=message.pk).delivery_state == Delivery.PENDING
    return message


def test_a_reply_reaches_the_send_api_once_with_the_exact_request(customer_writes, agent, graph):
    graph.answer(
        "POST", graph.send_path, json_body={"recipient_id": PSID, "message_id": "m_reply_1"}
    )
    ticket = customer_writes("Where is my parcel?").ticket
    message = reply(ticket, agent)

    assert send_outbound(message.pk) == Delivery.SENT
    # The task delivered twice by the queue sends once.
    assert send_outbound(message.pk) == "skipped"

    (sent,) = graph.received("POST", graph.send_path)
    assert sent.query == {"access_token": [PAGE_TOKEN]}
    assert sent.json() == {
        "recipient": {"id": PSID},
        "messaging_type": "RESPONSE",
        "message": {"text": "Dzień dobry, już sprawdzam."},
    }
    stored = Message.objects.get(pk=message.pk)
    assert stored.delivery_state == Delivery.SENT and stored.external_id == "m_reply_1"


@pytest.mark.django_db(transaction=True)
def test_a_recorded_reply_is_sent_by_the_outbox_worker(customer_writes, agent, graph):
    ticket = customer_writes().ticket

    result = record_reply(ticket=ticket, author=agent, text="Hned to zjistím.")

    stored = Message.objects.get(pk=result.message.pk)
    assert stored.delivery_state == Delivery.SENT
    assert stored.external_id == "m_sent_by_default"
    assert len(graph.received("POST", graph.send_path)) == 1


def test_a_delivery_receipt_marks_the_listed_messages_delivered(
    customer_writes, agent, graph, post_webhook, page_inbox
):
    graph.answer(
        "POST", graph.send_path, json_body={"recipient_id": PSID, "message_id": "m_reply_7"}
    )
    message = reply(customer_writes().ticket, agent)
    send_outbound(message.pk)

    response = post_webhook(
        page_inbox, webhook(receipt_event("delivery", watermark=now_ms(), mids=["m_reply_7"]))
    )

    assert response.status_code == 200
    assert Message.objects.get(pk=message.pk).delivery_state == Delivery.DELIVERED


def test_a_read_watermark_marks_read_what_was_sent_before_it_only(
    customer_writes, agent, post_webhook, page_inbox
):
    ticket = customer_writes(hours_ago=4).ticket
    now = timezone.now()
    # Replies already sent at those times (imported_at: stored as sent, not sent again).
    earlier = record_reply(
        ticket=ticket, author=agent, text="First", imported_at=now - timedelta(hours=3)
    ).message
    later = record_reply(
        ticket=ticket, author=agent, text="Second", imported_at=now - timedelta(hours=1)
    ).message

    watermark = now_ms(-timedelta(hours=2))
    response = post_webhook(page_inbox, webhook(receipt_event("read", watermark=watermark)))

    assert response.status_code == 200
    assert Message.objects.get(pk=earlier.pk).delivery_state == Delivery.READ
    assert Message.objects.get(pk=later.pk).delivery_state == Delivery.SENT


def test_a_reply_outside_the_24_hour_window_is_refused_with_the_way_out(
    customer_writes, agent, page_inbox, graph
):
    ticket = customer_writes(hours_ago=25).ticket

    with pytest.raises(ReplyError) as refused:
        record_reply(ticket=ticket, author=agent, text="Sorry for the wait!")

    reason = str(refused.value)
    assert (
        "last wrote on Messenger 1\xa0day ago" in reason
        and "24 hours" in reason
        and "Human agent tag" in reason
    )
    assert Message.objects.filter(direction="out").count() == 0
    reach = get_adapter("messenger").reach(ticket=ticket, inbox=page_inbox)
    assert [value for value, _label in reach.options] == ["HUMAN_AGENT"]

    message = reply(ticket, agent, "Sorry for the wait!", send_options={"tag": "HUMAN_AGENT"})
    assert send_outbound(message.pk) == Delivery.SENT

    (sent,) = graph.received("POST", graph.send_path)
    assert sent.json() == {
        "recipient": {"id": PSID},
        "messaging_type": "MESSAGE_TAG",
        "tag": "HUMAN_AGENT",
        "message": {"text": "Sorry for the wait!"},
    }


def test_after_seven_days_no_tag_is_offered_and_none_is_taken(customer_writes, agent, page_inbox):
    ticket = customer_writes(hours_ago=8 * 24).ticket

    reach = get_adapter("messenger").reach(ticket=ticket, inbox=page_inbox)

    assert not reach.available and reach.options == ()
    assert "another of the customer's channels" in reach.reason
    with pytest.raises(ReplyError):
        record_reply(
            ticket=ticket, author=agent, text="Hello?", send_options={"tag": "HUMAN_AGENT"}
        )


def test_within_the_window_it_says_when_the_window_closes(customer_writes, page_inbox):
    result = customer_writes(hours_ago=2)

    reach = get_adapter("messenger").reach(ticket=result.ticket, inbox=page_inbox)

    assert reach.available and reach.options == ()
    assert reach.closes_at == result.message.created_at + timedelta(hours=24)


def test_a_customer_who_never_wrote_to_the_page_cannot_be_reached_there(inbox, receive, page_inbox):
    ticket = receive(inbox).ticket

    reach = get_adapter("messenger").reach(ticket=ticket, inbox=page_inbox)

    assert not reach.available and reach.options == ()
    assert "wrote first" in reach.reason


def test_meta_s_outside_the_window_error_fails_the_reply_without_a_retry(
    customer_writes, agent, graph
):
    graph.answer("POST", graph.send_path, status=400, json_body=OUTSIDE_WINDOW)
    message = reply(customer_writes().ticket, agent)
    retried = []

    assert send_outbound(message.pk, retry=retried.append) == Delivery.FAILED

    stored = Message.objects.get(pk=message.pk)
    assert retried == []
    assert stored.delivery_error.startswith(
        "Messenger 10/2018278: (#10) This message is sent outside of allowed window."
    )
    assert "within 24 hours" in stored.delivery_error
    assert len(graph.received("POST", graph.send_path)) == 1


def test_a_server_error_leaves_the_reply_pending_for_a_retry(customer_writes, agent, graph):
    graph.answer("POST", graph.send_path, status=500, body=b"<html>oops</html>", times=1)
    message = reply(customer_writes().ticket, agent)
    retried = []

    assert send_outbound(message.pk, retry=retried.append) == Delivery.PENDING

    assert len(retried) == 1
    stored = Message.objects.get(pk=message.pk)
    assert stored.delivery_state == Delivery.PENDING
    assert "HTTP 500" in stored.delivery_error
    # The retry, once Meta is back.
    assert send_outbound(message.pk, retry=retried.append) == Delivery.SENT
    assert len(graph.received("POST", graph.send_path)) == 2


@pytest.mark.parametrize(
    "status, error, permanent",
    [
        (400, {"code": 551, "message": "This person isn't available right now."}, True),
        (400, {"code": 100, "error_subcode": 2018001, "message": "No matching user found"}, True),
        (400, {"code": 190, "message": "Invalid OAuth access token."}, True),
        (403, {"code": 200, "message": "(#200) Requires pages_messaging permission"}, True),
        (400, {"code": 2, "message": "An unexpected error has occurred."}, False),
        (400, {"code": 4, "message": "Application request limit reached"}, False),
        (400, {"code": 613, "message": "Calls to this api have exceeded the rate limit."}, False),
        (503, {"code": 1, "message": "An unknown error occurred"}, False),
    ],
)
def test_each_graph_error_is_permanent_or_temporary(
    customer_writes, agent, graph, status, error, permanent
):
    graph.answer(
        "POST",
        graph.send_path,
        status=status,
        json_body={"error": {"type": "OAuthException", "fbtrace_id": "Zz9", **error}},
    )
    message = reply(customer_writes().ticket, agent)
    retried = []

    state = send_outbound(message.pk, retry=retried.append)

    assert state == (Delivery.FAILED if permanent else Delivery.PENDING)
    assert len(retried) == (0 if permanent else 1)
    stored = Message.objects.get(pk=message.pk)
    assert stored.delivery_error.startswith(f"Messenger {error['code']}")
    assert error["message"].rstrip(".") in stored.delivery_error


def test_a_provider_out_of_reach_is_a_temporary_failure(customer_writes, agent, settings):
    settings.META_GRAPH_API_BASE_URL = "http://127.0.0.1:9"  # nothing listens there
    message = reply(customer_writes().ticket, agent)
    retried = []

    assert send_outbound(message.pk, retry=retried.append) == Delivery.PENDING
    assert "could not connect" in Message.objects.get(pk=message.pk).delivery_error


def test_a_text_over_messenger_s_limit_is_refused_not_cut(customer_writes, agent, graph):
    assert MAX_TEXT_CHARS == 2000
    message = reply(customer_writes().ticket, agent, "ą" * (MAX_TEXT_CHARS + 1))

    assert send_outbound(message.pk, retry=[].append) == Delivery.FAILED

    assert "at most 2000 characters" in Message.objects.get(pk=message.pk).delivery_error
    assert graph.received("POST", graph.send_path) == []


def test_a_reply_with_files_is_refused_rather_than_sent_without_them(customer_writes, agent, graph):
    message = reply(
        customer_writes().ticket,
        agent,
        "Invoice attached",
        attachments=[("a.pdf", "application/pdf", b"%PDF-1.4")],
    )

    assert send_outbound(message.pk, retry=[].append) == Delivery.FAILED
    assert graph.received("POST", graph.send_path) == []


def test_the_page_token_never_reaches_the_log(customer_writes, agent, graph, caplog):
    # Even with httpx's request lines switched on (settings keep them at WARNING).
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="httpx")
    graph.answer("POST", graph.send_path, status=400, json_body=OUTSIDE_WINDOW)
    message = reply(customer_writes().ticket, agent)

    send_outbound(message.pk, retry=[].append)

    assert "access_token=[redacted]" in caplog.text
    assert PAGE_TOKEN not in caplog.text
    assert PAGE_TOKEN not in Message.objects.get(pk=message.pk).delivery_error
