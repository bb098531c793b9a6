"""The live conversations view (/agent/chats/): sections, who sees what, its cost, taking a chat."""

from __future__ import annotations

import re
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from agents.accounts import create_agent
from agents.models import Profile
from channels_in.inboxes import create_inbox
from tickets.changes import update_ticket
from tickets.handoff import hold_for_self_service
from tickets.merge import merge_tickets
from tickets.models import Channel, EventKind, Status, Ticket, TimelineEvent
from tickets.replies import record_reply

pytestmark = pytest.mark.django_db

CHATS = "/agent/chats/"
LIST = "/agent/chats/list/"


@pytest.fixture
def chat(receive, widget_inbox):
    """chat(visitor, text, name="") -> a new chat ticket from the website widget."""

    def _chat(visitor: str, text: str = "Hello?", name: str = "") -> Ticket:
        return receive(widget_inbox, sender=visitor, text=text, name=name).ticket

    return _chat


@pytest.fixture
def teammate(db, team):
    user, _ = create_agent(
        email="piotr@example.com",
        password="correct-horse",
        role="agent",
        team=team.name,
        name="Piotr Zieliński",
    )
    return user


def section(html: str, name: str) -> str:
    """The markup of one section of the list ("" when the page has no such section)."""
    match = re.search(
        rf'<section class="chat-section" aria-labelledby="chats-{name}-title">(.*?)</section>',
        html,
        re.S,
    )
    return match.group(1) if match else ""


def row(html: str, ticket: Ticket) -> str:
    """One chat's row."""
    found = re.search(rf'<li class="chat-row[^"]*" id="chat-{ticket.pk}".*?</li>', html, re.S)
    return found.group(0)


def row_ids(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'<li class="chat-row[^"]*" id="chat-(\d+)"', html)]


def test_it_sorts_chats_into_waiting_mine_and_others(
    client, agent, teammate, chat, receive, inbox, widget_inbox
):
    first = chat("visitor-1", "Is the rake in stock?", name="Ola")
    second = chat("visitor-2", "Do you ship to Prague?")
    mine = chat("visitor-3", "My order is late", name="Marek Nowak")
    theirs = chat("visitor-4", "Invoice please", name="Zofia")
    update_ticket(ticket=mine, actor=agent, assignee=agent)
    update_ticket(ticket=theirs, actor=teammate, assignee=teammate)
    solved = chat("visitor-5", "Thanks, bye", name="Solved Sam")
    update_ticket(ticket=solved, actor=agent, status=Status.SOLVED)
    email = receive(inbox, sender="jan@example.com", text="Not a chat", name="Email Jan").ticket
    client.force_login(agent)

    html = client.get(CHATS).content.decode()

    waiting = section(html, "waiting")
    assert row_ids(waiting) == [first.pk, second.pk]  # oldest waiting first
    assert "Ola" in waiting and "Visitor" in waiting  # no name given: "Visitor"
    assert "Waiting less than a minute" in waiting
    assert "Unassigned" in waiting
    assert row_ids(section(html, "mine")) == [mine.pk]
    assert "Marek Nowak" in section(html, "mine") and "You" in section(html, "mine")
    others = section(html, "others")
    assert row_ids(others) == [theirs.pk] and "Piotr Zieliński" in others
    # Solved chats and email tickets are not live chats.
    assert solved.pk not in row_ids(html) and email.pk not in row_ids(html)
    assert "Solved Sam" not in html and "Email Jan" not in html
    # The header link says how many wait, and is the current page.
    assert re.search(
        r'<a href="/agent/chats/" aria-current="page">Chats <span class="nav-count" '
        r'id="nav-chats-count"><span data-count>2</span>',
        html,
    )


def test_it_says_how_long_a_visitor_has_waited_and_when_they_last_wrote(
    client, agent, receive, widget_inbox
):
    started = timezone.now() - timedelta(minutes=12)
    receive(widget_inbox, sender="visitor-1", text="Anyone there?", received_at=started)
    receive(
        widget_inbox,
        sender="visitor-1",
        text="Hello??",
        received_at=started + timedelta(minutes=9),
    )
    client.force_login(agent)

    waiting = section(client.get(CHATS).content.decode(), "waiting")

    assert "Waiting 12\xa0minutes" in waiting  # since the chat began: nobody answered yet
    assert ">3\xa0minutes ago</time>" in waiting  # her latest message
    # Exact, in the agent's time zone, as HTML wants it (seconds, offset).
    zone = ZoneInfo(Profile.objects.get(user=agent).timezone)
    stamp = (started + timedelta(minutes=9)).astimezone(zone).strftime("%Y-%m-%dT%H:%M:%S%z")
    assert f'<time class="chat-time" datetime="{stamp}"' in waiting
    assert "Hello??" in waiting


def test_it_marks_chats_where_the_customer_wrote_last(client, agent, chat, receive, widget_inbox):
    answered = chat("visitor-1", "Hi", name="Ola")
    update_ticket(ticket=answered, actor=agent, assignee=agent)
    record_reply(ticket=answered, author=agent, text="Hello Ola, how can I help?")
    waiting = chat("visitor-2", "Hello?", name="Ewa")
    update_ticket(ticket=waiting, actor=agent, assignee=agent)
    client.force_login(agent)

    mine = section(client.get(CHATS).content.decode(), "mine")

    # The customer waits for us: first, with the cue; the answered chat shows our reply.
    assert row_ids(mine) == [waiting.pk, answered.pk]
    ewa, ola = row(mine, waiting), row(mine, answered)
    assert "Awaiting reply" in ewa and "is-waiting" in ewa
    assert "Awaiting reply" not in ola and "is-waiting" not in ola
    assert "Agent:</span> Hello Ola, how can I help?" in ola

    # She writes again: her chat waits for us once more.
    receive(widget_inbox, sender="visitor-1", text="Where is my parcel?", name="Ola")
    mine = section(client.get(CHATS).content.decode(), "mine")
    assert mine.count("Awaiting reply") == 2
    assert "Where is my parcel?" in mine


def test_an_agent_never_sees_chats_outside_their_teams(
    client, agent, other_agent, manager, chat, receive, other_team
):
    ours = chat("visitor-1", "Support question", name="Ola")
    billing = create_inbox(channel=Channel.WIDGET, name="Billing chat", team=other_team)
    foreign = receive(billing, sender="visitor-9", text="Billing secret", name="Bruno").ticket
    update_ticket(ticket=foreign, actor=other_agent, assignee=other_agent)

    client.force_login(agent)
    for url in (CHATS, LIST):
        html = client.get(url).content.decode()
        assert row_ids(html) == [ours.pk]
        assert "Billing secret" not in html and "Bruno" not in html
    response = client.post(reverse("agents:chat_take", args=[foreign.pk]))
    assert response.status_code == 404
    foreign.refresh_from_db()
    assert foreign.assignee == other_agent

    client.force_login(other_agent)
    html = client.get(CHATS).content.decode()
    assert row_ids(section(html, "mine")) == [foreign.pk] and "Support question" not in html

    # A manager sees the whole floor.
    client.force_login(manager)
    html = client.get(CHATS).content.decode()
    assert row_ids(section(html, "waiting")) == [ours.pk]
    assert row_ids(section(html, "others")) == [foreign.pk]


def test_an_agent_without_a_team_sees_only_their_own_chats_and_no_others_section(
    client, agent, chat
):
    loner, _ = create_agent(
        email="solo@example.com", password="correct-horse", role="agent", name="Solo Agent"
    )
    theirs = chat("visitor-1", "Hello", name="Ola")
    update_ticket(ticket=theirs, actor=agent, assignee=agent)
    given = chat("visitor-2", "Hi", name="Ewa")
    update_ticket(ticket=given, actor=agent, assignee=loner)
    client.force_login(loner)

    html = client.get(CHATS).content.decode()

    assert row_ids(html) == [given.pk]
    assert 'id="chats-others-title"' not in html
    assert 'id="chats-mine-title"' in html


def test_merged_and_on_hold_chats_leave_the_list(client, agent, chat, receive, widget_inbox):
    kept = chat("visitor-1", "First question", name="Ola")
    later = receive(widget_inbox, sender="visitor-1", text="x", name="Ola", new_ticket=True).ticket
    assert later.pk != kept.pk
    merge_tickets(source=later, target=kept, actor=agent)
    paused = chat("visitor-2", "Call me tomorrow", name="Ewa")
    update_ticket(ticket=paused, actor=agent, status=Status.ON_HOLD)
    pending = chat("visitor-3", "I'll check and come back", name="Iga")
    update_ticket(ticket=pending, actor=agent, status=Status.PENDING)
    client.force_login(agent)

    assert sorted(row_ids(client.get(CHATS).content.decode())) == sorted([kept.pk, pending.pk])


def test_it_shows_the_agents_load_against_their_limit(client, agent, chat):
    for n in range(2):
        update_ticket(ticket=chat(f"visitor-{n}"), actor=agent, assignee=agent)
    client.force_login(agent)
    assert "2 of 3 chats" in client.get(CHATS).content.decode()  # the default limit

    Profile.objects.filter(user=agent).update(max_chats=2)
    html = client.get(CHATS).content.decode()
    assert "2 of 2 chats" in html
    assert "You are at your limit" in html

    Profile.objects.filter(user=agent).update(max_chats=5)
    assert "2 of 5 chats" in client.get(LIST).content.decode()


def test_an_empty_list_says_what_will_appear_and_offers_to_go_online(client, agent):
    client.force_login(agent)

    html = client.get(CHATS).content.decode()

    assert "No live chats right now." in html
    assert "appear here as they arrive" in html
    assert "You are away: no new chats are assigned to you." in html
    # The button submits the header's availability toggle.
    go_online = '<button class="btn btn-small" type="submit" form="availability">Go online</button>'
    assert go_online in html
    assert 'id="availability"' in html
    assert "0 of 3 chats" in html
    assert 'id="nav-chats-count" hidden' in html

    client.post("/agent/availability/", {"availability": "online", "next": CHATS})
    html = client.get(LIST).content.decode()
    assert "You are online: new chats can be assigned to you." in html
    assert ">Switch to Away</button>" in html


@pytest.mark.parametrize("url", [CHATS, LIST])
def test_the_query_count_does_not_grow_with_the_number_of_chats(
    client, agent, teammate, manager, chat, url
):
    def count(user) -> int:
        client.force_login(user)
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url)
        assert response.status_code == 200
        return len(queries)

    def add_chats(start: int, stop: int) -> None:
        for n in range(start, stop):
            ticket = chat(f"visitor-{n}", f"Question {n}", name=f"Visitor {n}")
            if n % 3 == 1:
                update_ticket(ticket=ticket, actor=agent, assignee=agent)
            elif n % 3 == 2:
                update_ticket(ticket=ticket, actor=teammate, assignee=teammate)

    add_chats(0, 3)
    few = {user: count(user) for user in (agent, manager)}
    add_chats(3, 30)
    many = {user: count(user) for user in (agent, manager)}

    assert many == few
    client.force_login(agent)
    assert len(row_ids(client.get(url).content.decode())) == 30


def test_the_list_partial_is_the_list_alone_and_needs_an_agent(
    client, agent, chat, django_user_model
):
    ticket = chat("visitor-1", "Hello", name="Ola")
    client.force_login(agent)

    response = client.get(LIST, {"chat": ticket.pk})

    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html and html.strip().startswith('<div class="chat-board"')
    assert row_ids(html) == [ticket.pk]
    assert 'aria-current="true"' in html  # the chat open beside the list
    assert response["Cache-Control"].startswith("max-age=0")

    nobody = django_user_model.objects.create_user("nobody", password="correct-horse")
    client.force_login(nobody)
    assert client.get(LIST).status_code == 403
    assert client.get(CHATS).status_code == 403
    client.logout()
    assert client.get(LIST).status_code == 302


def test_an_agent_takes_a_waiting_chat(client, agent, teammate, chat):
    ticket = chat("visitor-1", "Hello", name="Ola")
    client.force_login(agent)

    response = client.post(reverse("agents:chat_take", args=[ticket.pk]), HTTP_HX_REQUEST="true")

    assert response.status_code == 200
    assert "The chat is yours." in response.content.decode()
    assert "chats-refresh" in response["HX-Trigger"]
    ticket.refresh_from_db()
    assert ticket.assignee == agent
    assert TimelineEvent.objects.filter(ticket=ticket, kind=EventKind.ASSIGNEE).exists()
    html = client.get(CHATS).content.decode()
    assert row_ids(section(html, "mine")) == [ticket.pk]
    assert "1 of 3 chats" in html

    # A colleague a moment too late is told who has it; nothing changes.
    client.force_login(teammate)
    response = client.post(reverse("agents:chat_take", args=[ticket.pk]), HTTP_HX_REQUEST="true")
    assert "Agnieszka Nowak took this chat first." in response.content.decode()
    ticket.refresh_from_db()
    assert ticket.assignee == agent

    # Without JavaScript: back to the chats page with the chat open.
    other = chat("visitor-2", "Hi", name="Ewa")
    response = client.post(reverse("agents:chat_take", args=[other.pk]))
    assert response.status_code == 302
    assert response["Location"] == f"{CHATS}?chat={other.pk}"
    assert client.get(CHATS).status_code == 200
    other.refresh_from_db()
    assert other.assignee == teammate


def test_the_header_links_to_the_chats_from_every_agent_page(client, agent, chat):
    ticket = chat("visitor-1", "Hello", name="Ola")
    client.force_login(agent)
    for url in ("/agent/", f"/agent/tickets/{ticket.pk}/"):
        html = client.get(url).content.decode()
        assert re.search(r'<a href="/agent/chats/"\s*>Chats</a>', html)
        assert "nav-chats-count" not in html  # no count query on other pages


def test_a_very_long_list_stops_and_points_to_the_inbox(client, agent, chat, monkeypatch):
    monkeypatch.setattr("agents.chats.MAX_CHATS", 2)
    for n in range(3):
        chat(f"visitor-{n}", f"Question {n}")
    client.force_login(agent)

    html = client.get(CHATS).content.decode()

    assert len(row_ids(html)) == 2
    assert "Only the most recent chats are listed here." in html
    assert 'href="/agent/?channel=widget"' in html


def test_a_chat_reading_help_articles_says_so_instead_of_awaiting_a_reply(client, agent, chat):
    held = chat("visitor-1", "Zwrot towaru", name="Ola")
    message = held.messages.get()
    article = [{"id": 1, "title": "Zwrot towaru", "opened": False}]
    hold_for_self_service(ticket_id=held.pk, message_id=message.pk, articles=article)
    client.force_login(agent)

    row = re.search(
        rf'<li class="chat-row[^"]*" id="chat-{held.pk}".*?</li>',
        client.get(CHATS).content.decode(),
        re.S,
    )
    assert "Reading help articles" in row.group(0)
    assert "Awaiting reply" not in row.group(0)
