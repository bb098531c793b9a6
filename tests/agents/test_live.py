"""The agent socket: notices carry ids only, and a ticket can be watched only if visible."""

import json

import pytest
from asgiref.sync import async_to_sync
from asgiref.testing import ApplicationCommunicator
from channels.db import database_sync_to_async

from agents.consumers import AgentConsumer

pytestmark = pytest.mark.django_db(transaction=True)


class Socket(ApplicationCommunicator):
    """A websocket client for one consumer (channels.testing needs daphne; this does not)."""

    def __init__(self, user):
        scope = {"type": "websocket", "path": "/ws/agent/", "headers": [], "user": user}
        super().__init__(AgentConsumer.as_asgi(), scope)

    async def connect(self, timeout=3):
        await self.send_input({"type": "websocket.connect"})
        answer = await self.receive_output(timeout)
        return answer["type"] == "websocket.accept", answer.get("code")

    async def send_json_to(self, data):
        await self.send_input({"type": "websocket.receive", "text": json.dumps(data)})

    async def receive_json_from(self, timeout=3):
        answer = await self.receive_output(timeout)
        assert answer["type"] == "websocket.send", answer
        return json.loads(answer["text"])

    async def disconnect(self):
        await self.send_input({"type": "websocket.disconnect", "code": 1000})
        await self.wait(1)


def _socket(user) -> Socket:
    return Socket(user)


def test_an_agent_hears_of_new_messages_and_may_watch_only_visible_tickets(
    agent, inbox, other_inbox, receive
):
    async def scenario():
        socket = _socket(agent)
        connected, _ = await socket.connect()
        assert connected

        result = await database_sync_to_async(receive)(inbox, text="Hello there")
        notice = await socket.receive_json_from(timeout=3)
        assert notice == {
            "type": "notice",
            "ticket": result.ticket.pk,
            "customer": result.ticket.customer_id,
            "kind": "message",
        }  # ids only: no subject, no text

        await socket.send_json_to({"type": "watch", "ticket": result.ticket.pk})
        assert await socket.receive_json_from(timeout=3) == {
            "type": "watching",
            "ticket": result.ticket.pk,
        }

        foreign = await database_sync_to_async(receive)(other_inbox, sender="eva@example.com")
        await socket.receive_json_from(timeout=3)  # the inbox notice (the row fetch will 404)
        await socket.send_json_to({"type": "watch", "ticket": foreign.ticket.pk})
        refused = await socket.receive_json_from(timeout=3)
        assert refused["type"] == "error"

        # Watching the ticket: its notice arrives once, not once per group.
        await database_sync_to_async(receive)(inbox, text="A follow-up")
        assert (await socket.receive_json_from(timeout=3))["ticket"] == result.ticket.pk
        assert await socket.receive_nothing(timeout=0.3)
        await socket.disconnect()

    async_to_sync(scenario)()


def test_a_signed_out_socket_is_closed(db):
    from django.contrib.auth.models import AnonymousUser

    async def scenario():
        connected, code = await _socket(AnonymousUser()).connect()
        assert not connected and code == 4401

    async_to_sync(scenario)()
