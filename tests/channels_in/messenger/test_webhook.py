"""POST and GET /inbound/messenger/<key>/ as Meta calls them, end to end:
signature, storage once, the customer's timeline, media and profile fetched
from the Graph API stand-in after commit."""

from __future__ import annotations

import json

import pytest

from channels_in.models import RawInbound
from tickets.models import Attachment, Customer, Identity, Message, TimelineEvent

from .conftest import PSID, load, message_event, sign, webhook

pytestmark = pytest.mark.django_db(transaction=True)


def handshake(client, inbox, **params):
    query = {"hub.mode": "subscribe", "hub.challenge": "1158201444", **params}
    return client.get(f"/inbound/messenger/{inbox.key}/", query)


def test_it_answers_meta_s_subscription_handshake_with_the_challenge(client, page_inbox):
    response = handshake(
        client, page_inbox, **{"hub.verify_token": page_inbox.secrets["verify_token"]}
    )

    assert response.status_code == 200
    assert response.content == b"1158201444"
    assert response["Content-Type"].startswith("text/plain")


@pytest.mark.parametrize(
    "case, params, status",
    [
        ("wrong token", {"hub.verify_token": "guessed"}, 403),
        ("no token", {}, 400),
        ("no challenge", {"hub.verify_token": None, "hub.challenge": ""}, 400),
        ("not subscribe", {"hub.verify_token": None, "hub.mode": "unsubscribe"}, 400),
    ],
)
def test_it_refuses_a_handshake_without_the_right_token(client, page_inbox, case, params, status):
    params = {
        k: (page_inbox.secrets["verify_token"] if v is None else v) for k, v in params.items()
    }
    response = handshake(client, page_inbox, **params)

    assert response.status_code == status, case
    assert response.json()["error"] and "1158201444" not in response.content.decode()


def test_a_message_reaches_the_customer_s_timeline_once(post_webhook, page_inbox, graph):
    payload = load("text_message")

    first = post_webhook(page_inbox, payload)
    again = post_webhook(page_inbox, payload)

    assert first.status_code == 200 and again.status_code == 200
    assert again.json()["duplicate"] is True
    message = Message.objects.get()
    assert message.body_text == "Dzień dobry! Where is my order #4821?"
    assert message.external_id == payload["entry"][0]["messaging"][0]["message"]["mid"]
    assert message.channel == "messenger" and message.direction == "in"
    identity = Identity.objects.get(kind="messenger", value=PSID)
    assert identity.verified and message.ticket.customer_id == identity.customer_id
    assert TimelineEvent.objects.filter(message=message, customer=identity.customer).count() == 1
    assert RawInbound.objects.count() == 1


def test_a_batch_of_two_messages_stores_both(post_webhook, page_inbox, graph):
    response = post_webhook(page_inbox, load("batch"))

    assert response.status_code == 200
    assert list(Message.objects.order_by("id").values_list("external_id", "body_text")) == [
        ("m_batch_first", "One more thing:"),
        ("m_batch_second", "can I change the delivery address?"),
    ]
    # One running conversation: both on one ticket. The reaction is kept, ignored.
    assert len({m.ticket_id for m in Message.objects.all()}) == 1
    assert RawInbound.objects.filter(state="ignored").count() == 1


def test_an_echo_of_our_own_send_stores_no_message(post_webhook, page_inbox, graph):
    response = post_webhook(page_inbox, load("echo"))

    assert response.status_code == 200
    assert Message.objects.count() == 0
    assert RawInbound.objects.get().state == "ignored"


def test_a_post_without_events_answers_200_and_stores_nothing(post_webhook, page_inbox):
    response = post_webhook(page_inbox, {"object": "page", "entry": []})

    assert response.status_code == 200
    assert RawInbound.objects.count() == 0


def _over_the_limit(settings):
    settings.INBOUND_MAX_BYTES = 300
    return json.dumps(webhook(message_event("x" * 400))).encode()


@pytest.mark.parametrize(
    "case, status, error",
    [
        ("forged signature", 403, "forbidden"),
        ("signature of a different body", 403, "forbidden"),
        ("no signature header", 403, "forbidden"),
        ("signed with another app's secret", 403, "forbidden"),
        ("not json", 400, "malformed"),
        ("not a page webhook", 400, "malformed"),
        ("unknown inbox key", 404, "unknown_inbox"),
        ("over the size limit", 413, "too_large"),
    ],
)
def test_it_refuses_each_bad_request_and_stores_nothing(
    client, post_webhook, page_inbox, settings, case, status, error
):
    body = json.dumps(load("text_message")).encode()
    if case == "forged signature":
        response = post_webhook(page_inbox, body, signature="sha256=" + "0" * 64)
    elif case == "signature of a different body":
        # Signed in full, cut short on the way.
        response = post_webhook(page_inbox, body[:-20], signature=sign(body))
    elif case == "no signature header":
        response = post_webhook(page_inbox, body, signature="")
    elif case == "signed with another app's secret":
        response = post_webhook(page_inbox, body, signature=sign(body, "another-app-secret"))
    elif case == "not json":
        response = post_webhook(page_inbox, b'{"object": "page", "entry": [')
    elif case == "not a page webhook":
        response = post_webhook(page_inbox, {"object": "instagram", "entry": []})
    elif case == "unknown inbox key":
        response = client.post(
            "/inbound/messenger/no-such-key/",
            data=body,
            content_type="application/json",
            HTTP_X_HUB_SIGNATURE_256=sign(body),
        )
    else:
        response = post_webhook(page_inbox, _over_the_limit(settings))

    assert response.status_code == status, case
    assert response.json()["error"] == error and response.json()["detail"]
    assert RawInbound.objects.count() == 0 and Message.objects.count() == 0


def test_an_attachment_is_fetched_from_meta_s_cdn_into_the_message(post_webhook, page_inbox, graph):
    graph.answer(
        "GET", r"^/cdn/photo_n\.jpg$", body=b"\xff\xd8\xff\xe0JFIF", content_type="image/jpeg"
    )
    photo = f"{graph.base_url}/cdn/photo_n.jpg?_nc_cat=1&oh=ab12"
    event = message_event("", attachments=[{"type": "image", "payload": {"url": photo}}])

    response = post_webhook(page_inbox, webhook(event))

    assert response.status_code == 200
    attachment = Attachment.objects.get()
    assert attachment.message.external_id == event["message"]["mid"]
    assert attachment.content_type == "image/jpeg"
    with attachment.file.open("rb") as stored:
        assert stored.read() == b"\xff\xd8\xff\xe0JFIF"
    # Fetched once, as a plain GET: the CDN address is signed itself.
    (fetched,) = graph.received("GET", r"^/cdn/")
    assert "access_token" not in fetched.query


def test_an_attachment_elsewhere_than_meta_s_cdn_is_not_fetched(post_webhook, page_inbox, graph):
    # Loopback too, so a fetch would reach the stand-in: only the host differs.
    elsewhere = graph.base_url.replace("127.0.0.1", "localhost") + "/cdn/photo_n.jpg"
    event = message_event(
        "see this", attachments=[{"type": "image", "payload": {"url": elsewhere}}]
    )

    response = post_webhook(page_inbox, webhook(event))

    assert response.status_code == 200
    message = Message.objects.get()
    assert not Attachment.objects.exists()
    assert graph.received("GET", r"^/cdn/") == []
    assert (
        "not on Messenger’s file servers"
        in message.meta["media_errors"][f"{event['message']['mid']}-0"]
    )


def test_the_customer_s_name_is_fetched_once_from_their_profile(post_webhook, page_inbox, graph):
    post_webhook(page_inbox, webhook(message_event("Dobrý den")))
    post_webhook(page_inbox, webhook(message_event("Ještě jedna otázka")))

    customer = Customer.objects.get()
    assert customer.name == "Jiří Svoboda"
    assert "fetched_at" in customer.attributes["messenger_profile"]
    (asked,) = graph.received("GET", graph.profile_path)
    assert asked.query["fields"] == ["first_name,last_name,name"]
    assert asked.query["access_token"] == [page_inbox.secrets["page_access_token"]]


def test_a_profile_meta_refuses_is_recorded_and_never_asked_again(post_webhook, page_inbox, graph):
    graph.answer(
        "GET",
        graph.profile_path,
        status=400,
        json_body={
            "error": {
                "message": "Unsupported get request. Object with ID does not exist",
                "type": "GraphMethodException",
                "code": 100,
                "error_subcode": 33,
                "fbtrace_id": "AbCdEf123",
            }
        },
    )

    post_webhook(page_inbox, webhook(message_event("Hello")))
    post_webhook(page_inbox, webhook(message_event("Hello again")))

    customer = Customer.objects.get()
    assert customer.name == ""
    assert "Messenger 100/33" in customer.attributes["messenger_profile"]["error"]
    assert len(graph.received("GET", graph.profile_path)) == 1


def test_a_profile_read_that_fails_for_a_while_is_asked_again(post_webhook, page_inbox, graph):
    from channels_in.messenger.profile import fetch_sender_profile

    graph.answer("GET", graph.profile_path, status=503, body=b"busy", times=1)

    post_webhook(page_inbox, webhook(message_event("Hello")))

    # Not settled: the task is retried with backoff (eager here, so it only logs the retry).
    customer = Customer.objects.get()
    assert customer.name == "" and set(customer.attributes["messenger_profile"]) == {"requested_at"}
    # The retry, as the worker runs it.
    assert fetch_sender_profile(Message.objects.get().pk) == "fetched"
    assert Customer.objects.get().name == "Jiří Svoboda"
    assert len(graph.received("GET", graph.profile_path)) == 2


def test_a_named_customer_is_not_looked_up(post_webhook, page_inbox, graph, receive):
    receive(page_inbox, sender=PSID, name="Jiří S.", kind="messenger")

    post_webhook(page_inbox, webhook(message_event("Hello")))

    assert Customer.objects.get().name == "Jiří S."
    assert graph.received("GET", graph.profile_path) == []
