"""Typing, read marks, presence and routing, in-process against the channel layer.

There is no HTTP endpoint for an agent's typing yet, so publish_agent_typing is
called here directly; the sockets are driven through the real websocket routes.
"""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest
from asgiref.sync import async_to_sync
from asgiref.testing import ApplicationCommunicator
from channels.db import database_sync_to_async
from channels.routing import URLRouter
from django.conf import settings
from django.core.cache import cache

from agents.consumers import AgentConsumer
from agents.models import Profile
from channels_in.adapters.widget import read_visitor, sign_visitor
from channels_in.widgets import (
    agents_online,
    normalize_origin,
    publish_agent_read,
    publish_agent_typing,
)
from helpdesk.routing import websocket_urlpatterns
from tickets.models import Customer, Identity, Inbox

SITE = "https://shop.example"


class Socket(ApplicationCommunicator):
    """A websocket client for the real routes (channels.testing needs daphne; this does not)."""

    def __init__(self, path: str, origin: str | None, query: bytes = b"", user=None):
        headers = [(b"host", b"testserver")]
        if origin:
            headers.append((b"origin", origin.encode()))
        scope = {
            "type": "websocket",
            "path": path,
            "raw_path": path.encode(),
            "query_string": query,
            "headers": headers,
            "client": ("127.0.0.1", 50000),
            "subprotocols": [],
        }
        if user is not None:
            scope["user"] = user
            app = AgentConsumer.as_asgi()
        else:
            app = URLRouter(websocket_urlpatterns)
        super().__init__(app, scope)

    async def connect(self):
        """(accepted, close code): a refusal is an accept followed at once by a close."""
        self.pending: list[dict] = []
        await self.send_input({"type": "websocket.connect"})
        first = await self.receive_output(3)
        if first["type"] == "websocket.close":
            return False, first.get("code")
        if await self.receive_nothing(0.2):
            return True, None
        following = await self.receive_output(1)
        if following["type"] == "websocket.close":
            return False, following.get("code")
        self.pending.append(following)
        return True, None

    async def send_json(self, data):
        await self.send_input({"type": "websocket.receive", "text": json.dumps(data)})

    async def receive_json(self, timeout=3):
        answer = self.pending.pop(0) if self.pending else await self.receive_output(timeout)
        assert answer["type"] == "websocket.send", answer
        return json.loads(answer["text"])

    async def disconnect(self):
        await self.send_input({"type": "websocket.disconnect", "code": 1000})
        await self.wait(1)


@pytest.fixture
def chat(widget_inbox):
    Inbox.objects.filter(pk=widget_inbox.pk).update(config={"allowed_origins": [SITE]})
    widget_inbox.refresh_from_db()
    return widget_inbox


def _visitor_socket(inbox, visitor: str | None = None, origin: str | None = SITE) -> Socket:
    query = f"token={sign_visitor(inbox, visitor)}".encode() if visitor else b""
    return Socket(f"/ws/widget/{inbox.key}/", origin, query)


@pytest.mark.django_db(transaction=True)
def test_it_tells_the_visitor_when_an_agent_types_or_reads(chat, inbox, agent, receive):
    ticket = receive(chat, sender="a1b2c3", text="Is anyone there?").ticket
    elsewhere = receive(inbox, sender="jan@example.com").ticket
    message_id = ticket.messages.get().pk

    async def scenario():
        visitor, stranger = _visitor_socket(chat, "a1b2c3"), _visitor_socket(chat, "d4e5f6")
        for socket in (visitor, stranger):
            assert (await socket.connect())[0]
            assert (await socket.receive_json())["type"] == "session"
        await database_sync_to_async(publish_agent_typing)(ticket, agent, True)
        assert await visitor.receive_json() == {
            "type": "typing",
            "state": True,
            "name": "Agnieszka",
        }
        await database_sync_to_async(publish_agent_typing)(ticket, agent, False)
        assert (await visitor.receive_json())["state"] is False
        await database_sync_to_async(publish_agent_read)(ticket, message_id)
        assert await visitor.receive_json() == {"type": "read", "up_to": message_id}
        await database_sync_to_async(publish_agent_typing)(elsewhere, agent, True)  # not a chat
        assert await visitor.receive_nothing(0.3)
        assert await stranger.receive_nothing(0.1)
        await visitor.disconnect()
        await stranger.disconnect()

    async_to_sync(scenario)()


@pytest.mark.django_db(transaction=True)
def test_it_tells_agents_watching_the_ticket_when_the_visitor_types(chat, agent, receive):
    ticket = receive(chat, sender="0f0f0f", text="Let me describe it ...").ticket

    async def scenario():
        watcher = Socket("/ws/agent/", None, user=agent)
        assert (await watcher.connect())[0]
        await watcher.send_json({"type": "watch", "ticket": ticket.pk})
        assert (await watcher.receive_json())["type"] == "watching"
        visitor = _visitor_socket(chat, "0f0f0f")
        assert (await visitor.connect())[0]
        await visitor.receive_json()
        await visitor.send_json({"type": "typing", "state": True})
        assert await watcher.receive_json() == {
            "type": "notice",
            "ticket": ticket.pk,
            "customer": ticket.customer_id,
            "kind": "typing",
            "state": True,
        }
        await visitor.send_json({"type": "typing", "state": "yes"})
        assert (await visitor.receive_json())["code"] == "bad_frame"
        await visitor.disconnect()
        await watcher.disconnect()

    async_to_sync(scenario)()


@pytest.mark.django_db(transaction=True)
def test_an_agent_typing_on_the_ticket_page_is_shown_to_the_visitor(
    chat, agent, other_agent, receive
):
    ticket = receive(chat, sender="abcabc", text="Hello?").ticket

    async def scenario():
        visitor = _visitor_socket(chat, "abcabc")
        assert (await visitor.connect())[0]
        await visitor.receive_json()
        agent_socket = Socket("/ws/agent/", None, user=agent)
        assert (await agent_socket.connect())[0]
        # Typing about a ticket the socket does not watch tells nobody.
        await agent_socket.send_json({"type": "typing", "ticket": ticket.pk, "state": True})
        assert await visitor.receive_nothing(0.3)
        await agent_socket.send_json({"type": "watch", "ticket": ticket.pk})
        assert (await agent_socket.receive_json())["type"] == "watching"
        await agent_socket.send_json({"type": "typing", "ticket": ticket.pk, "state": True})
        assert await visitor.receive_json() == {
            "type": "typing",
            "state": True,
            "name": "Agnieszka",
        }
        # An agent of another team may not watch it, so cannot type into it either.
        outsider = Socket("/ws/agent/", None, user=other_agent)
        assert (await outsider.connect())[0]
        await outsider.send_json({"type": "watch", "ticket": ticket.pk})
        assert (await outsider.receive_json())["type"] == "error"
        await outsider.send_json({"type": "typing", "ticket": ticket.pk, "state": True})
        assert await visitor.receive_nothing(0.3)
        for socket in (visitor, agent_socket, outsider):
            await socket.disconnect()

    async_to_sync(scenario)()


@pytest.mark.django_db(transaction=True)
def test_the_visitor_sees_seen_when_an_agent_opens_the_chat(chat, agent, client, receive):
    ticket = receive(chat, sender="feedfe", text="Is my parcel lost?").ticket
    last = ticket.messages.get().pk
    client.force_login(agent)

    async def scenario():
        visitor = _visitor_socket(chat, "feedfe")
        assert (await visitor.connect())[0]
        await visitor.receive_json()
        response = await database_sync_to_async(client.get)(f"/agent/tickets/{ticket.pk}/")
        assert response.status_code == 200
        assert await visitor.receive_json() == {"type": "read", "up_to": last}
        await visitor.disconnect()

    async_to_sync(scenario)()


@pytest.mark.django_db(transaction=True)
def test_it_reports_agents_online_while_an_agent_socket_is_open(chat, agent):
    cache.clear()
    Profile.objects.filter(user=agent).update(availability="online")

    async def scenario():
        visitor = _visitor_socket(chat)
        await visitor.connect()
        assert (await visitor.receive_json())["agents_online"] is False
        await visitor.disconnect()
        watcher = Socket("/ws/agent/", None, user=agent)
        assert (await watcher.connect())[0]
        assert await database_sync_to_async(agents_online)()
        visitor = _visitor_socket(chat)
        await visitor.connect()
        assert (await visitor.receive_json())["agents_online"] is True
        await visitor.disconnect()
        await watcher.disconnect()

    async_to_sync(scenario)()
    cache.clear()


@pytest.mark.django_db(transaction=True)
def test_each_route_keeps_its_own_origin_check(chat):
    Inbox.objects.filter(pk=chat.pk).update(is_active=False)
    active = type(chat).objects.create(
        channel=chat.channel, name="Second chat", config={"allowed_origins": [SITE]}
    )

    async def scenario():
        # The agent socket takes our own hosts only, before its consumer runs ...
        refused = Socket("/ws/agent/", SITE)
        assert await refused.connect() == (False, None)
        anonymous = Socket("/ws/agent/", "http://testserver")
        assert await anonymous.connect() == (False, 4401)
        # ... the widget's takes each inbox's sites.
        assert (await _visitor_socket(active).connect())[0]
        assert await _visitor_socket(active, origin="https://evil.example").connect() == (
            False,
            4403,
        )
        own = _visitor_socket(active, origin=settings.PUBLIC_BASE_URL)
        assert (await own.connect())[0]
        assert await _visitor_socket(chat).connect() == (False, 4404)  # inactive

    async_to_sync(scenario)()


@pytest.mark.django_db(transaction=True)
def test_a_second_verified_identify_on_one_browser_starts_a_new_visitor(chat, receive):
    secret = chat.secrets["identity_secret"]
    receive(chat, sender="cafe01", text="Hi, Anna here.")

    def signed(email: str) -> str:
        return hmac.new(secret.encode(), email.encode(), hashlib.sha256).hexdigest()

    async def scenario():
        socket = _visitor_socket(chat, "cafe01")
        await socket.connect()
        await socket.receive_json()
        email = "anna@example.com"
        await socket.send_json({"type": "identify", "email": email, "hmac": signed(email)})
        # The same visitor (a token is re-signed with the time, so compare who it names).
        assert read_visitor(chat, (await socket.receive_json())["visitor_token"]) == "cafe01"
        # Anna signed out, Bob signed in on the same browser: Bob must not get her chat.
        email = "bob@example.com"
        await socket.send_json({"type": "identify", "email": email, "hmac": signed(email)})
        session = await socket.receive_json()
        assert read_visitor(chat, session["visitor_token"]) != "cafe01"
        await socket.send_json({"type": "history"})
        assert (await socket.receive_json())["messages"] == []
        await socket.disconnect()

    async_to_sync(scenario)()
    anna = Identity.objects.get(kind="email", value="anna@example.com").customer
    bob = Identity.objects.get(kind="email", value="bob@example.com").customer
    assert anna.pk != bob.pk
    assert sorted(anna.identities.values_list("kind", "value")) == [
        ("email", "anna@example.com"),
        ("widget", "cafe01"),
    ]
    assert bob.identities.filter(kind="widget").count() == 1
    assert Customer.objects.filter(merged_into__isnull=False).count() == 0


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("https://Shop.Example", "https://shop.example"),
        ("https://shop.example:443/", "https://shop.example"),
        ("http://shop.example:8080", "http://shop.example:8080"),
        ("http://[::1]:8000", "http://[::1]:8000"),
        ("null", None),
        ("file://", None),
        ("https://shop.example:99999", None),
        ("", None),
        (None, None),
    ],
)
def test_it_normalizes_origins(value, expected):
    assert normalize_origin(value) == expected
