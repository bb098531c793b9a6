"""Agents' availability for chats: the header toggle, the socket heartbeat, agents_online."""

from __future__ import annotations

from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from django.utils import timezone

from agents.models import Profile
from agents.presence import any_agent_online
from channels_in.widgets import agents_online
from tests.channels_in.widget.test_live_events import Socket


def profile_of(user) -> Profile:
    return Profile.objects.get(user=user)


def test_it_switches_availability_from_the_header(client, agent):
    client.force_login(agent)
    assert profile_of(agent).availability == "away"
    page = client.get("/agent/")
    assert b'id="availability"' in page.content
    response = client.post(
        "/agent/availability/",
        {"availability": "online", "next": "/agent/"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    assert b"is-online" in response.content
    assert profile_of(agent).availability == "online"
    response = client.post("/agent/availability/", {"availability": "away", "next": "/agent/"})
    assert response.status_code == 302
    assert response["Location"] == "/agent/"
    assert profile_of(agent).availability == "away"


def test_it_refuses_a_bad_toggle(client, agent):
    client.force_login(agent)
    assert client.post("/agent/availability/", {"availability": "busy"}).status_code == 400
    client.logout()
    assert client.post("/agent/availability/", {"availability": "online"}).status_code == 302
    assert profile_of(agent).availability == "away"


def test_it_counts_an_agent_online_only_with_a_recent_heartbeat(agent):
    Profile.objects.filter(user=agent).update(availability="online", last_seen_at=None)
    assert not any_agent_online()
    Profile.objects.filter(user=agent).update(last_seen_at=timezone.now())
    assert any_agent_online()
    Profile.objects.filter(user=agent).update(last_seen_at=timezone.now() - timedelta(minutes=2))
    assert not any_agent_online()
    Profile.objects.filter(user=agent).update(availability="away", last_seen_at=timezone.now())
    assert not any_agent_online()


def test_it_answers_agents_online_per_team(agent, team, other_team):
    Profile.objects.filter(user=agent).update(availability="online", last_seen_at=timezone.now())
    assert agents_online()
    assert agents_online(team)
    assert agents_online(team.pk)
    assert not agents_online(other_team)


@pytest.mark.django_db(transaction=True)
def test_the_agent_socket_keeps_the_heartbeat(agent):
    Profile.objects.filter(user=agent).update(availability="online")
    last_seen = database_sync_to_async(lambda: profile_of(agent).last_seen_at)

    async def scenario():
        socket = Socket("/ws/agent/", None, user=agent)
        assert (await socket.connect())[0]
        first = await last_seen()
        assert first is not None
        assert await database_sync_to_async(agents_online)()
        await socket.send_json({"type": "ping"})
        assert await socket.receive_json() == {"type": "pong"}
        assert await last_seen() > first
        await socket.disconnect()
        assert await last_seen() is None
        assert not await database_sync_to_async(agents_online)()

    async_to_sync(scenario)()


@pytest.mark.django_db(transaction=True)
def test_closing_one_tab_keeps_the_agent_online(agent):
    Profile.objects.filter(user=agent).update(availability="online")

    async def scenario():
        first, second = (
            Socket("/ws/agent/", None, user=agent),
            Socket("/ws/agent/", None, user=agent),
        )
        assert (await first.connect())[0]
        assert (await second.connect())[0]
        await first.disconnect()
        await second.receive_nothing(0.3)  # the other socket stamps again
        assert await database_sync_to_async(agents_online)()
        await second.disconnect()

    async_to_sync(scenario)()
