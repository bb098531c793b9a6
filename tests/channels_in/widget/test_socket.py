"""The widget's socket against the real server (docs/widget-protocol.md)."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import uuid

import pytest
from django.core import signing
from websockets.exceptions import ConnectionClosed

from channels_in.adapters.widget import VISITOR_SALT

from .conftest import SITE, Visitor, WidgetServer, new_ip, open_visitor

XSS = '<img src=x onerror="alert(1)"><script>alert(document.cookie)</script>&amp; </p>'


def run(scenario) -> None:
    asyncio.run(scenario)


def cid() -> str:
    return uuid.uuid4().hex


async def say(visitor: Visitor, body: str, client_id: str | None = None) -> dict:
    client_id = client_id or cid()
    ack = await visitor.exchange({"type": "message", "body": body, "client_id": client_id})
    assert ack["type"] == "ack", ack
    assert ack["client_id"] == client_id
    return ack


async def first_session(visitor: Visitor) -> dict:
    session = await visitor.receive()
    assert session["type"] == "session", session
    return session


def test_it_opens_a_session_and_acks_a_message(widget_server: WidgetServer):
    async def scenario():
        async with open_visitor(widget_server, ip=new_ip()) as visitor:
            session = await first_session(visitor)
            assert session["visitor_token"]
            assert session["inbox"] == {
                "name": "Web chat",
                "greeting": "Hi! How can we help?",
                "color": "#0a7d5a",
                "language": "en",
            }
            assert isinstance(session["agents_online"], bool)
            ack = await visitor.exchange(
                {"type": "message", "body": "Hello, is my order on its way?", "client_id": "c-1"}
            )
            assert ack == {"type": "ack", "client_id": "c-1", "id": ack["id"], "duplicate": False}
            history = await visitor.exchange({"type": "history"})
            assert history["has_more"] is False
            [message] = history["messages"]
            assert message == {
                "id": ack["id"],
                "body": "Hello, is my order on its way?",
                "author": "visitor",
                "name": "",
                "created_at": message["created_at"],
                "client_id": "c-1",
                "attachments": [],
            }

    run(scenario())


def test_it_stores_a_resend_after_reconnect_once(widget_server: WidgetServer):
    async def scenario():
        ip = new_ip()
        async with open_visitor(widget_server, ip=ip) as visitor:
            token = (await first_session(visitor))["visitor_token"]
            first = await say(visitor, "Do you ship to Brno?", "resend-1")
        # The page reloaded before the widget saw the ack: it sends the message again.
        async with open_visitor(widget_server, token=token, ip=ip) as visitor:
            assert (await first_session(visitor))["visitor_token"]
            again = await say(visitor, "Do you ship to Brno?", "resend-1")
            assert again["id"] == first["id"]
            assert again["duplicate"] is True
            history = await visitor.exchange({"type": "history"})
            assert [m["client_id"] for m in history["messages"]] == ["resend-1"]
        return token

    token = asyncio.run(scenario())
    fetched = widget_server.request(
        "GET",
        f"/widget/{widget_server.key}/messages",
        headers={"Origin": SITE, "X-Visitor-Token": token},
    )
    assert [m["body"] for m in fetched.body["messages"]] == ["Do you ship to Brno?"]


def test_it_resumes_history_after_reconnect(widget_server: WidgetServer):
    async def scenario():
        ip = new_ip()
        async with open_visitor(widget_server, ip=ip) as visitor:
            token = (await first_session(visitor))["visitor_token"]
            ids = [(await say(visitor, f"Message {n}"))["id"] for n in range(3)]
        async with open_visitor(widget_server, token=token, ip=ip) as visitor:
            session = await first_session(visitor)
            assert session["visitor_token"]
            everything = await visitor.exchange({"type": "history"})
            assert [m["id"] for m in everything["messages"]] == ids
            later = await visitor.exchange({"type": "history", "after": ids[0]})
            assert [m["body"] for m in later["messages"]] == ["Message 1", "Message 2"]
            assert later["has_more"] is False
        # Someone without the token sees nothing of it, and gets a new visitor.
        async with open_visitor(widget_server, token="forged-token", ip=ip) as stranger:
            assert (await first_session(stranger))["visitor_token"] != token
            assert (await stranger.exchange({"type": "history"}))["messages"] == []

    run(scenario())


def test_it_pushes_agent_replies_live_and_records_read_receipts(widget_server: WidgetServer):
    ip = new_ip()
    # The first message over the HTTP fallback: the answer names the ticket.
    posted = widget_server.request(
        "POST",
        f"/widget/{widget_server.key}/messages",
        {"body": "Where is parcel 1042?", "client_id": "http-1"},
        {"Origin": SITE, "X-Forwarded-For": ip},
    )
    assert posted.status == 202, posted.body
    ticket, token = posted.body["ticket"], posted.body["visitor_token"]

    async def scenario():
        async with (
            open_visitor(widget_server, token=token, ip=ip) as tab,
            open_visitor(widget_server, token=token, ip=ip) as other_tab,
            open_visitor(widget_server, ip=ip) as stranger,
        ):
            await first_session(tab)
            await first_session(other_tab)
            await first_session(stranger)
            # The same conversation as over HTTP.
            assert [
                m["client_id"] for m in (await tab.exchange({"type": "history"}))["messages"]
            ] == ["http-1"]
            # The visitor's own message: an ack here, the message in the other tab.
            ack = await say(tab, "It was due on Monday.")
            mirrored = await other_tab.receive()
            assert mirrored["type"] == "message"
            assert mirrored["message"]["id"] == ack["id"]
            assert mirrored["message"]["author"] == "visitor"

            reply = await asyncio.to_thread(
                widget_server.api,
                "POST",
                f"tickets/{ticket}/replies/",
                {"text": "It is at the depot, arriving tomorrow."},
            )
            for socket in (tab, other_tab):
                pushed = await socket.receive(timeout=15)
                assert pushed["type"] == "message", pushed
                assert pushed["message"] == {
                    "id": reply["id"],
                    "body": "It is at the depot, arriving tomorrow.",
                    "author": "agent",
                    "name": "Eva",
                    "created_at": pushed["message"]["created_at"],
                    "attachments": [],
                }
            await asyncio.to_thread(widget_server.wait_for_state, ticket, reply["id"], "sent")

            # Another visitor's read receipt does not touch this conversation.
            await stranger.send({"type": "read", "up_to": reply["id"]})
            await stranger.exchange({"type": "history"})  # frames are handled in order
            await asyncio.to_thread(widget_server.wait_for_state, ticket, reply["id"], "sent", 0)

            await tab.send({"type": "read", "up_to": reply["id"]})
            await asyncio.to_thread(widget_server.wait_for_state, ticket, reply["id"], "read")
            assert await stranger.nothing_within(0.3)

    run(scenario())


def _customer_by_email(server: WidgetServer, email: str) -> list[dict]:
    return server.api("GET", f"customers/?q={email}")["results"]


def test_it_links_a_verified_identify_to_the_existing_customer(widget_server: WidgetServer):
    email = "jana.dvorakova@example.com"
    existing = widget_server.api(
        "POST",
        "tickets/",
        {
            "inbox": widget_server.test_inbox,
            "identity": {"kind": "email", "value": email, "name": "Jana Dvořáková"},
            "text": "Called about an invoice.",
        },
    )
    customer_id = existing["customer"]["id"]
    signature = hmac.new(
        widget_server.identity_secret.encode(), email.encode(), hashlib.sha256
    ).hexdigest()

    async def scenario():
        ip = new_ip()
        async with open_visitor(widget_server, ip=ip) as visitor:
            token = (await first_session(visitor))["visitor_token"]
            await say(visitor, "Hi, it's Jana from the shop account.")
            session = await visitor.exchange(
                {"type": "identify", "email": email, "name": "Jana", "hmac": signature}
            )
            assert session["type"] == "session"
            # The same visitor (a token is re-signed with the time, so compare who it names).
            assert visitor_of(session["visitor_token"]) == visitor_of(token)
            history = await visitor.exchange({"type": "history"})
            assert [m["body"] for m in history["messages"]] == [
                "Hi, it's Jana from the shop account."
            ]

    run(scenario())
    [customer] = _customer_by_email(widget_server, email)
    assert customer["id"] == customer_id
    kinds = sorted((i["kind"], i["verified"]) for i in customer["identities"])
    assert kinds == [("email", True), ("widget", False)]
    timeline = widget_server.api("GET", f"customers/{customer_id}/timeline/")["results"]
    assert any(
        e["message"] and e["message"]["text"] == "Hi, it's Jana from the shop account."
        for e in timeline
    )


def test_it_only_stores_a_claim_for_an_identify_without_a_valid_hmac(widget_server: WidgetServer):
    email = "petr.claim@example.com"
    widget_server.api(
        "POST",
        "tickets/",
        {
            "inbox": widget_server.test_inbox,
            "identity": {"kind": "email", "value": email, "name": "Petr"},
            "text": "A request by phone.",
        },
    )

    async def scenario():
        async with open_visitor(widget_server, ip=new_ip()) as visitor:
            await first_session(visitor)
            await say(visitor, "I am Petr, show me my orders.")
            for signature in ("0" * 64, None):
                frame = {"type": "identify", "email": email}
                if signature:
                    frame["hmac"] = signature
                assert (await visitor.exchange(frame))["type"] == "session"
            history = await visitor.exchange({"type": "history"})
            assert [m["body"] for m in history["messages"]] == ["I am Petr, show me my orders."]

    run(scenario())
    [owner] = _customer_by_email(widget_server, email)
    assert [i["kind"] for i in owner["identities"]] == ["email"]  # nobody merged into them
    visitors = [
        c
        for c in widget_server.api("GET", "customers/?page_size=100")["results"]
        if c["attributes"].get("claimed_email") == email
    ]
    assert len(visitors) == 1
    assert [i["kind"] for i in visitors[0]["identities"]] == ["widget"]


@pytest.mark.parametrize(
    ("origin", "accepted"),
    [
        (SITE, True),
        ("https://WWW.shop.example:443", True),
        (None, True),  # replaced by the helpdesk's own origin below
        ("https://evil.example", False),
        ("http://shop.example", False),
        ("null", False),
        ("", False),
    ],
)
def test_it_accepts_only_allowed_origins(widget_server: WidgetServer, origin, accepted):
    origin = widget_server.base if origin is None else origin

    async def scenario():
        async with open_visitor(widget_server, origin=origin or None, ip=new_ip()) as visitor:
            if accepted:
                assert (await visitor.receive())["type"] == "session"
            else:
                with pytest.raises(ConnectionClosed) as closed:
                    await visitor.receive()
                assert closed.value.rcvd.code == 4403

    run(scenario())


def test_it_closes_unknown_keys_with_4404(widget_server: WidgetServer):
    async def scenario():
        async with open_visitor(widget_server, key="no-such-key", ip=new_ip()) as visitor:
            with pytest.raises(ConnectionClosed) as closed:
                await visitor.receive()
            assert closed.value.rcvd.code == 4404

    run(scenario())


def test_it_refuses_too_large_frames_and_keeps_the_connection(widget_server: WidgetServer):
    async def scenario():
        async with open_visitor(widget_server, ip=new_ip()) as visitor:
            await first_session(visitor)
            long = await visitor.exchange(
                {"type": "message", "body": "x" * 5001, "client_id": "long-1"}
            )
            assert long["type"] == "error"
            assert long["code"] == "too_large"
            assert long["client_id"] == "long-1"
            assert "5000" in long["detail"]
            huge = await visitor.exchange(
                {"type": "message", "body": "hi", "client_id": "huge-1", "pad": "y" * 70_000}
            )
            assert (huge["type"], huge["code"], huge["client_id"]) == (
                "error",
                "too_large",
                "huge-1",
            )
            for bad in ("not json", "[1, 2]", '{"type": "dance"}'):
                assert (await visitor.exchange(bad))["code"] == "bad_frame"
            empty = await visitor.exchange({"type": "message", "body": "   ", "client_id": "e-1"})
            assert (empty["code"], empty["client_id"]) == ("empty", "e-1")
            await say(visitor, "A normal message after all that.")
            history = await visitor.exchange({"type": "history"})
            assert [m["body"] for m in history["messages"]] == ["A normal message after all that."]

    run(scenario())


def test_it_rate_limits_per_visitor_and_per_address(widget_server: WidgetServer):
    async def scenario():
        ip = new_ip()
        async with open_visitor(widget_server, ip=ip) as visitor:
            await first_session(visitor)
            for n in range(20):
                await say(visitor, f"Spam {n}")
            limited = await visitor.exchange(
                {"type": "message", "body": "One too many", "client_id": "over-1"}
            )
            assert (limited["type"], limited["code"], limited["client_id"]) == (
                "error",
                "rate_limited",
                "over-1",
            )
            history = await visitor.exchange({"type": "history"})  # still open
            assert len(history["messages"]) == 20
            assert "One too many" not in [m["body"] for m in history["messages"]]
        # Two more visitors from the same address use up its 60 a minute ...
        for _ in range(2):
            async with open_visitor(widget_server, ip=ip) as visitor:
                await first_session(visitor)
                for n in range(20):
                    await say(visitor, f"More {n}")
        async with open_visitor(widget_server, ip=ip) as visitor:
            await first_session(visitor)
            limited = await visitor.exchange({"type": "message", "body": "Hi", "client_id": "ip-1"})
            assert limited["code"] == "rate_limited"
            assert (await visitor.exchange({"type": "history"}))["messages"] == []
        # ... while a visitor elsewhere is not affected.
        async with open_visitor(widget_server, ip=new_ip()) as visitor:
            await first_session(visitor)
            await say(visitor, "Hello from another network")

    run(scenario())


def test_it_keeps_markup_as_plain_text_both_ways(widget_server: WidgetServer):
    ip = new_ip()
    posted = widget_server.request(
        "POST",
        f"/widget/{widget_server.key}/messages",
        {"body": XSS, "client_id": "xss-1"},
        {"Origin": SITE, "X-Forwarded-For": ip},
    )
    assert posted.status == 202, posted.body
    ticket, token = posted.body["ticket"], posted.body["visitor_token"]

    async def scenario():
        async with open_visitor(widget_server, token=token, ip=ip) as visitor:
            await first_session(visitor)
            [message] = (await visitor.exchange({"type": "history"}))["messages"]
            assert message["body"] == XSS
            ack = await say(visitor, XSS)
            await asyncio.to_thread(
                widget_server.api, "POST", f"tickets/{ticket}/replies/", {"text": XSS}
            )
            pushed = await visitor.receive(timeout=15)
            assert pushed["message"]["body"] == XSS
            return ack["id"]

    run(scenario())
    fetched = widget_server.request(
        "GET",
        f"/widget/{widget_server.key}/messages",
        headers={"Origin": SITE, "X-Visitor-Token": token},
    )
    assert fetched.headers["content-type"] == "application/json"
    assert [m["body"] for m in fetched.body["messages"]] == [XSS, XSS, XSS]
    assert [m["author"] for m in fetched.body["messages"]] == ["visitor", "visitor", "agent"]


def visitor_of(token: str) -> str:
    """The visitor a signed token names (the server signs with the same default key)."""
    return signing.loads(token, salt=VISITOR_SALT)["v"]
