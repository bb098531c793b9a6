"""A new chat goes to the least-loaded online agent of its inbox's team, once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from agents.accounts import create_agent
from agents.models import Profile
from tickets.assignment import Candidate, assign_chat
from tickets.changes import update_ticket
from tickets.models import EventKind, Ticket, TimelineEvent


@pytest.fixture
def second_agent(db, team):
    user, _ = create_agent(
        email="bartek@example.com",
        password="correct-horse",
        role="agent",
        team=team.name,
        name="Bartek Zieliński",
    )
    return user


def go_online(*users, max_chats: int = 3) -> None:
    Profile.objects.filter(user__in=users).update(
        availability="online", last_seen_at=timezone.now(), max_chats=max_chats
    )


@pytest.fixture
def new_chat(receive, widget_inbox, django_capture_on_commit_callbacks):
    """new_chat(sender) -> Ticket: a visitor's first message, its events delivered."""

    def _new_chat(sender: str) -> Ticket:
        with django_capture_on_commit_callbacks(execute=True):
            result = receive(widget_inbox, sender=sender, text="Hello?")
        return Ticket.objects.get(pk=result.ticket.pk)

    return _new_chat


def test_it_gives_a_new_chat_to_the_least_loaded_online_agent(new_chat, agent, second_agent):
    go_online(agent, second_agent)
    busy = new_chat("visitor-1")
    update_ticket(ticket=busy, actor=None, assignee=agent)
    Profile.objects.filter(user=agent).update(last_assigned_at=None)
    chat = new_chat("visitor-2")
    assert chat.assignee == second_agent
    event = TimelineEvent.objects.get(ticket=chat, kind=EventKind.ASSIGNEE)
    assert event.data == {"from": None, "to": second_agent.get_username()}
    assert Profile.objects.get(user=second_agent).last_assigned_at is not None


def test_it_breaks_ties_by_who_waited_longest(widget_inbox, receive, agent, second_agent):
    ticket_id = receive(widget_inbox, sender="visitor-1").ticket.pk
    now = timezone.now()
    candidates = [
        Candidate(user_id=agent.pk, max_chats=3, last_assigned_at=now),
        Candidate(user_id=second_agent.pk, max_chats=3, last_assigned_at=now - timedelta(hours=1)),
    ]
    assert assign_chat(ticket_id, candidates=candidates) == second_agent


def test_it_respects_max_chats(new_chat, agent):
    go_online(agent, max_chats=1)
    first = new_chat("visitor-1")
    second = new_chat("visitor-2")
    assert first.assignee == agent
    assert second.assignee is None


def test_it_leaves_the_chat_unassigned_when_nobody_is_online(new_chat, agent, second_agent):
    go_online(second_agent)
    Profile.objects.filter(user=second_agent).update(
        last_seen_at=timezone.now() - timedelta(minutes=5)
    )
    Profile.objects.filter(user=agent).update(last_seen_at=timezone.now())  # but away
    assert new_chat("visitor-1").assignee is None


def test_it_does_not_reassign_an_assigned_chat(widget_inbox, receive, agent, second_agent):
    ticket = Ticket.objects.get(pk=receive(widget_inbox, sender="visitor-1").ticket.pk)
    update_ticket(ticket=ticket, actor=None, assignee=agent)
    candidates = [Candidate(user_id=second_agent.pk, max_chats=3)]
    assert assign_chat(ticket.pk, candidates=candidates) is None
    assert assign_chat(ticket.pk, candidates=candidates) is None
    ticket.refresh_from_db()
    assert ticket.assignee == agent
    assert TimelineEvent.objects.filter(ticket=ticket, kind=EventKind.ASSIGNEE).count() == 1


def test_it_assigns_only_new_widget_tickets(
    inbox, widget_inbox, receive, agent, django_capture_on_commit_callbacks
):
    go_online(agent)
    with django_capture_on_commit_callbacks(execute=True):
        other = receive(inbox, sender="jan@example.com")
    assert Ticket.objects.get(pk=other.ticket.pk).assignee is None

    Profile.objects.filter(user=agent).update(availability="away")
    with django_capture_on_commit_callbacks(execute=True):
        first = receive(widget_inbox, sender="visitor-1")
    go_online(agent)
    with django_capture_on_commit_callbacks(execute=True):
        follow_up = receive(widget_inbox, sender="visitor-1", text="Anyone there?")
    assert follow_up.ticket.pk == first.ticket.pk
    assert Ticket.objects.get(pk=first.ticket.pk).assignee is None


def test_it_only_considers_the_inbox_team(new_chat, agent, other_agent):
    go_online(other_agent)
    assert new_chat("visitor-1").assignee is None
