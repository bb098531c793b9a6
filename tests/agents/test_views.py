"""The agent UI through the test client: what renders, who sees what, what gets stored."""

import re

import pytest
from django.urls import reverse

from agents.models import Profile
from tickets.models import (
    Delivery,
    Direction,
    EventKind,
    Message,
    Priority,
    Status,
    Ticket,
    TimelineEvent,
)
from tickets.replies import record_reply

pytestmark = pytest.mark.django_db


def ticket_url(name, ticket, *args):
    return reverse(f"agents:{name}", args=[ticket.pk, *args])


def hidden_key(html: str) -> str:
    return re.search(r'name="idempotency_key" value="([^"]+)"', html).group(1)


@pytest.fixture
def ticket(inbox, receive):
    return receive(inbox, text="Where is my order 1234?", subject="Order 1234").ticket


@pytest.fixture
def foreign_ticket(other_inbox, receive):
    """A ticket of another team: agent (Support) must not see it."""
    return receive(
        other_inbox, sender="eva@example.com", name="Eva Svobodová", text="Faktura"
    ).ticket


# --- Rendering ------------------------------------------------------------------------


def test_it_asks_anonymous_visitors_to_sign_in(client, ticket):
    response = client.get(reverse("agents:inbox"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))

    login = client.get(reverse("login"))
    assert login.status_code == 200
    assert b'name="password"' in login.content
    assert b'action="/i18n/setlang/"' in login.content


def test_it_signs_in_with_email_and_password(client, agent):
    response = client.post(
        reverse("login"), {"username": "agnieszka@example.com", "password": "correct-horse"}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("agents:inbox")


def test_it_explains_a_failed_sign_in(client, agent):
    response = client.post(reverse("login"), {"username": "agnieszka@example.com", "password": "x"})
    assert response.status_code == 200
    assert b'role="alert"' in response.content


@pytest.mark.parametrize("who", ["agent", "manager"])
def test_it_renders_the_inbox_and_ticket(client, request, who, ticket):
    user = request.getfixturevalue(who)
    client.force_login(user)

    inbox_page = client.get(reverse("agents:inbox"))
    assert inbox_page.status_code == 200
    html = inbox_page.content.decode()
    assert "Order 1234" in html and "Jan Kowalski" in html and ticket.reference in html
    assert 'id="ticket-rows"' in html
    assert ("/reports/" in html) == (who == "manager")

    page = client.get(ticket_url("ticket", ticket))
    assert page.status_code == 200
    html = page.content.decode()
    assert "Where is my order 1234?" in html
    assert 'name="idempotency_key"' in html
    assert 'id="timeline"' in html


def test_it_refuses_users_without_a_helpdesk_role(client, django_user_model):
    nobody = django_user_model.objects.create_user("nobody", password="correct-horse")
    client.force_login(nobody)
    assert client.get(reverse("agents:inbox")).status_code == 403


def test_it_filters_and_searches_the_inbox(client, agent, inbox, receive):
    receive(inbox, sender="a@example.com", name="Anna", text="Refund please", subject="Refund")
    receive(inbox, sender="b@example.com", name="Bartek", text="Delivery late", subject="Late")
    client.force_login(agent)

    html = client.get(reverse("agents:inbox"), {"q": "refund"}).content.decode()
    assert "Refund" in html and "Late" not in html

    html = client.get(reverse("agents:inbox"), {"view": "mine"}).content.decode()
    assert "Refund" not in html and "Nothing waiting here" in html

    html = client.get(reverse("agents:inbox"), {"status": "solved"}).content.decode()
    assert "No tickets match these filters" in html

    # Nonsense in the query string falls back to defaults instead of failing.
    assert client.get(reverse("agents:inbox"), {"priority": "x", "sort": "?"}).status_code == 200


def test_it_answers_htmx_with_partials_and_pages_with_load_more(client, agent, inbox, receive):
    for i in range(4):
        receive(inbox, sender=f"c{i}@example.com", name=f"Customer {i}", subject=f"Question {i}")
    client.force_login(agent)

    first = client.get(reverse("agents:inbox"), {"limit": 2}, HTTP_HX_REQUEST="true")
    html = first.content.decode()
    assert "<html" not in html
    assert html.count('class="ticket-row') == 2
    more = re.search(r'hx-get="\?([^"]+)"', html).group(1).replace("&amp;", "&")
    assert "cursor=" in more

    second = client.get(reverse("agents:inbox") + "?" + more, HTTP_HX_REQUEST="true")
    html2 = second.content.decode()
    assert html2.count('class="ticket-row') == 2
    assert 'hx-swap-oob="true"' in html2
    first_ids = set(re.findall(r'id="ticket-(\d+)"', html))
    assert first_ids.isdisjoint(re.findall(r'id="ticket-(\d+)"', html2))


def test_inbox_rows_say_when_in_one_unit_and_do_not_repeat_the_subject(
    client, agent, inbox, receive
):
    from datetime import timedelta

    from django.utils import timezone

    # A chat or SMS ticket is named after its first message.
    receive(
        inbox, text="Is my parcel lost?", received_at=timezone.now() - timedelta(days=2, hours=3)
    )
    client.force_login(agent)

    html = client.get(reverse("agents:inbox")).content.decode()
    assert re.search(r">2\s+days ago</time>", html)  # not "2 days, 3 hours ago"
    assert html.count("Is my parcel lost?") == 1 and "row-preview" not in html


def _oob(html: str, element_id: str) -> str:
    """The out-of-band element with this id: its start tag up to the first end tag of its kind."""
    match = re.search(rf'<(\w+) [^>]*id="{element_id}" hx-swap-oob="true"[^>]*>', html)
    assert match, f"no out-of-band #{element_id} in the answer"
    return html[match.start() : html.index(f"</{match.group(1)}>", match.end())]


def test_a_filter_change_also_updates_the_heading_and_the_clear_link(client, agent, inbox, receive):
    receive(inbox, sender="a@example.com", name="Anna", text="Refund please", subject="Refund")
    client.force_login(agent)

    filters = {"status": "new", "q": "refund"}
    html = client.get(reverse("agents:inbox"), filters, HTTP_HX_REQUEST="true").content.decode()
    assert "<html" not in html and html.count('class="ticket-row') == 1
    head = _oob(html, "inbox-head")
    assert ">All</h1>" in head
    assert '<li class="chip">New</li>' in head and '<li class="chip">“refund”</li>' in head
    assert 'class="clear-filters" href="?view=all"' in head
    assert "filter-on" in _oob(html, "filter-toggle")
    # Switching the view keeps the new filters.
    assert _oob(html, "views-list").count("q=refund") == 4

    html = client.get(reverse("agents:inbox"), HTTP_HX_REQUEST="true").content.decode()
    assert "active-filters" not in _oob(html, "inbox-head")
    assert "clear-filters" not in _oob(html, "inbox-head")
    assert "filter-on" not in _oob(html, "filter-toggle")


@pytest.mark.parametrize("rows", [25, 100])
def test_the_inbox_query_count_does_not_grow_with_page_size(
    client, agent, inbox, receive, django_assert_max_num_queries, rows
):
    from tickets.changes import update_ticket

    for i in range(rows):
        result = receive(inbox, sender=f"load{i}@example.com", name=f"Load {i}")
        update_ticket(ticket=result.ticket, actor=agent, assignee=agent, tags=["vip", f"t{i % 3}"])
    client.force_login(agent)

    with django_assert_max_num_queries(10):
        response = client.get(reverse("agents:inbox"), {"limit": rows})
    assert response.content.decode().count('class="ticket-row') == rows


def test_the_ticket_page_query_count_is_bounded(
    client, agent, inbox, receive, django_assert_max_num_queries
):
    first = receive(inbox, text="first")
    for i in range(30):
        receive(inbox, text=f"follow-up {i}")
    for i in range(10):
        record_reply(ticket=first.ticket, author=agent, text=f"answer {i}")
    client.force_login(agent)

    with django_assert_max_num_queries(25):
        response = client.get(ticket_url("ticket", first.ticket))
    assert response.status_code == 200


# --- Visibility: 404 for another team's ticket, everywhere ------------------------------


@pytest.mark.parametrize(
    "method,name,extra",
    [
        ("get", "ticket", {}),
        ("get", "ticket_row", {}),
        ("get", "ticket_header", {}),
        ("get", "ticket_timeline", {"after": 0}),
        ("post", "ticket_reply", {"text": "hi", "channel": "test", "idempotency_key": "k1"}),
        ("post", "ticket_note", {"text": "hi"}),
        ("post", "ticket_update", {"status": "solved"}),
        ("post", "ticket_merge", {"target": "1"}),
        ("post", "ticket_split", {"messages": "1"}),
    ],
)
def test_another_teams_ticket_is_a_404(client, agent, foreign_ticket, method, name, extra):
    client.force_login(agent)
    response = getattr(client, method)(ticket_url(name, foreign_ticket), extra)
    assert response.status_code == 404
    assert Message.objects.filter(ticket=foreign_ticket).count() == 1
    foreign_ticket.refresh_from_db()
    assert foreign_ticket.status == Status.NEW


def test_the_other_team_and_a_manager_can_open_it(client, other_agent, manager, foreign_ticket):
    for user in (other_agent, manager):
        client.force_login(user)
        assert client.get(ticket_url("ticket", foreign_ticket)).status_code == 200


def test_a_ticket_assigned_to_the_agent_is_visible_outside_their_teams(
    client, agent, manager, foreign_ticket
):
    from tickets.changes import update_ticket

    update_ticket(ticket=foreign_ticket, actor=manager, assignee=agent)
    client.force_login(agent)
    assert client.get(ticket_url("ticket", foreign_ticket)).status_code == 200


def test_the_inbox_never_lists_another_teams_ticket(client, agent, ticket, foreign_ticket):
    client.force_login(agent)
    html = client.get(reverse("agents:inbox"), {"view": "all"}).content.decode()
    assert f'id="ticket-{ticket.pk}"' in html
    assert f'id="ticket-{foreign_ticket.pk}"' not in html


def test_the_timeline_hides_events_of_tickets_the_agent_cannot_see(
    client, agent, inbox, other_inbox, receive
):
    mine = receive(inbox, sender="same@example.com", text="visible question").ticket
    theirs = receive(other_inbox, sender="same@example.com", text="secret billing matter").ticket
    assert mine.customer_id == theirs.customer_id
    client.force_login(agent)

    html = client.get(ticket_url("ticket", mine)).content.decode()
    assert "visible question" in html
    assert "secret billing matter" not in html


# --- Row and timeline partials ------------------------------------------------------------


def test_the_row_partial_renders_one_row_or_204_outside_the_filters(client, agent, ticket):
    client.force_login(agent)
    response = client.get(ticket_url("ticket_row", ticket))
    assert response.status_code == 200
    assert response.content.decode().strip().startswith("<li")
    assert client.get(ticket_url("ticket_row", ticket), {"view": "mine"}).status_code == 204


def test_the_timeline_partial_returns_only_newer_events(client, agent, inbox, receive, ticket):
    client.force_login(agent)
    last = TimelineEvent.objects.filter(customer=ticket.customer).latest("id").pk
    assert client.get(ticket_url("ticket_timeline", ticket), {"after": last}).content.strip() == b""

    receive(inbox, text="A second question arrives")
    html = client.get(ticket_url("ticket_timeline", ticket), {"after": last}).content.decode()
    assert "A second question arrives" in html
    assert "Where is my order" not in html


def test_other_tickets_of_the_customer_are_folded_with_a_link(client, agent, inbox, receive):
    old = receive(inbox, text="an old problem").ticket
    Ticket.objects.filter(pk=old.pk).update(status=Status.CLOSED)
    new = receive(inbox, text="a new problem").ticket
    assert new.pk != old.pk
    client.force_login(agent)

    html = client.get(ticket_url("ticket", new)).content.decode()
    assert "an old problem" in html and "a new problem" in html
    folded = html[html.index('class="tl-group"') :]
    assert "an old problem" in folded.split("</details>")[0]
    assert reverse("agents:ticket", args=[old.pk]) in folded


def test_a_contact_linked_amid_another_ticket_does_not_cut_its_fold_in_two(
    client, agent, inbox, receive
):
    from tickets.changes import update_ticket
    from tickets.merge import link_identity

    old = receive(inbox, text="an old problem").ticket
    link_identity(customer=old.customer, kind="phone", value="+48601234567")
    assert receive(inbox, text="more on the old problem").ticket.pk == old.pk
    update_ticket(ticket=old, actor=agent, status=Status.CLOSED)
    new = receive(inbox, text="a new problem").ticket
    client.force_login(agent)

    html = client.get(ticket_url("ticket", new)).content.decode()
    assert html.count('class="tl-group"') == 1
    folded = html[html.index('class="tl-group"') :].split("</details>")[0]
    assert "more on the old problem" in folded and "+48601234567 (Phone)" in folded
    assert "2 messages" in folded and "channel-test" in folded


def test_older_history_loads_page_by_page(client, agent, inbox, receive):
    first = receive(inbox, text="the very first message", subject="History")
    for i in range(60):
        receive(inbox, text=f"message {i}")
    client.force_login(agent)

    html = client.get(ticket_url("ticket", first.ticket)).content.decode()
    assert "the very first message" not in html
    before = re.search(r"\?before=(\d+)", html).group(1)
    older = client.get(ticket_url("ticket_timeline", first.ticket), {"before": before})
    assert "the very first message" in older.content.decode()


def test_html_bodies_are_sanitized_and_text_is_escaped(client, agent, inbox, receive):
    ticket = receive(
        inbox,
        text="<script>alert(1)</script> in text",
        html="<p>Hello <b>there</b></p><script>alert(2)</script>",
    ).ticket
    receive(inbox, sender="x@example.com", name="<img src=x onerror=alert(3)>", text="plain")
    client.force_login(agent)

    html = client.get(ticket_url("ticket", ticket)).content.decode()
    assert "<b>there</b>" in html
    assert "alert(2)" not in html
    inbox_html = client.get(reverse("agents:inbox")).content.decode()
    assert "<img src=x" not in inbox_html
    assert "&lt;img src=x" in inbox_html


# --- Replies, notes, changes --------------------------------------------------------------


def test_a_reply_creates_an_outbound_message_once(client, agent, ticket):
    client.force_login(agent)
    page = client.get(ticket_url("ticket", ticket)).content.decode()
    data = {
        "text": "Your order ships today.",
        "channel": "test",
        "idempotency_key": hidden_key(page),
    }
    data["action"] = "send"

    first = client.post(ticket_url("ticket_reply", ticket), data)
    again = client.post(ticket_url("ticket_reply", ticket), data)  # a double submit

    assert first.status_code == 302 and again.status_code == 302
    replies = Message.objects.filter(ticket=ticket, direction=Direction.OUT, is_note=False)
    assert replies.count() == 1
    reply = replies.get()
    assert reply.body_text == "Your order ships today."
    assert reply.author == agent
    assert reply.delivery_state == Delivery.PENDING
    html = client.get(ticket_url("ticket", ticket)).content.decode()
    assert "Your order ships today." in html
    assert f'id="delivery-{reply.pk}"' in html and "Queued" in html


def test_send_and_set_status_changes_the_status(client, agent, ticket):
    client.force_login(agent)
    data = {
        "text": "Done.",
        "channel": "test",
        "idempotency_key": "key-solve",
        "action": "send_status",
        "status": "solved",
    }
    response = client.post(ticket_url("ticket_reply", ticket), data, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert "timeline-refresh" in response["HX-Trigger"]
    assert "<html" not in response.content.decode()
    assert 'name="idempotency_key"' in response.content.decode()
    assert "key-solve" not in response.content.decode()  # a fresh key for the next reply
    ticket.refresh_from_db()
    assert ticket.status == Status.SOLVED


def test_plain_send_ignores_the_status_choice(client, agent, ticket):
    client.force_login(agent)
    data = {"text": "Hi", "channel": "test", "idempotency_key": "k", "action": "send"}
    client.post(ticket_url("ticket_reply", ticket), {**data, "status": "closed"})
    ticket.refresh_from_db()
    assert ticket.status == Status.OPEN


@pytest.mark.parametrize(
    "data,error",
    [
        ({"text": "   ", "channel": "test"}, "Write a reply first."),
        ({"text": "Hi", "channel": "sms"}, "Select a valid choice"),
        ({"text": "x" * 50_001, "channel": "test"}, "at most 50000"),
        ({"text": "Hi", "channel": "test", "action": "send_status", "status": "bogus"}, "valid"),
    ],
)
def test_an_invalid_reply_shows_a_readable_error_and_stores_nothing(
    client, agent, ticket, data, error
):
    client.force_login(agent)
    before = TimelineEvent.objects.count()
    data = {"idempotency_key": "bad-1", "action": "send", **data}

    response = client.post(ticket_url("ticket_reply", ticket), data)
    assert response.status_code == 422
    html = response.content.decode()
    assert 'class="form-errors"' in html and error in html
    assert "<html" in html  # the whole page again, with the agent's text kept

    partial = client.post(ticket_url("ticket_reply", ticket), data, HTTP_HX_REQUEST="true")
    assert partial.status_code == 422 and error in partial.content.decode()

    assert not Message.objects.filter(direction=Direction.OUT).exists()
    assert TimelineEvent.objects.count() == before


def test_a_reply_error_from_the_workflow_is_shown_not_raised(client, agent, inbox, receive):
    """record_reply refuses (no active inbox for the channel): a message, not a 500."""
    ticket = receive(inbox).ticket
    inbox.is_active = False
    inbox.save()
    client.force_login(agent)
    data = {"text": "Hi", "channel": "test", "idempotency_key": "k", "action": "send"}

    response = client.post(ticket_url("ticket_reply", ticket), data)
    assert response.status_code == 422
    assert "No active Test inbox" in response.content.decode()
    assert not Message.objects.filter(direction=Direction.OUT).exists()


def test_a_note_is_stored_and_shown_as_a_note(client, agent, ticket):
    client.force_login(agent)
    response = client.post(ticket_url("ticket_note", ticket), {"text": "Customer is VIP."})
    assert response.status_code == 302
    note = Message.objects.get(ticket=ticket, is_note=True)
    assert note.body_text == "Customer is VIP."
    html = client.get(ticket_url("ticket", ticket)).content.decode()
    assert "msg-note" in html and "Customer is VIP." in html

    empty = client.post(ticket_url("ticket_note", ticket), {"text": " "}, HTTP_HX_REQUEST="true")
    assert empty.status_code == 422 and "Write a note first." in empty.content.decode()
    assert Message.objects.filter(is_note=True).count() == 1


def test_status_priority_assignee_and_tags_change_with_timeline_lines(client, agent, ticket):
    client.force_login(agent)
    data = {
        "status": "pending",
        "priority": str(Priority.URGENT),
        "assignee": str(agent.pk),
        "team": str(ticket.team_id),
        "tags": "VIP, refund ,vip",
    }
    response = client.post(ticket_url("ticket_update", ticket), data, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    ticket.refresh_from_db()
    assert ticket.status == Status.PENDING
    assert ticket.priority == Priority.URGENT
    assert ticket.assignee == agent
    assert sorted(ticket.tags.values_list("name", flat=True)) == ["refund", "vip"]
    kinds = set(TimelineEvent.objects.filter(ticket=ticket).values_list("kind", flat=True))
    assert {EventKind.STATUS, EventKind.PRIORITY, EventKind.ASSIGNEE, EventKind.TAGS} <= kinds

    html = client.get(ticket_url("ticket", ticket)).content.decode()
    assert "changed the status from New to Pending" in html
    assert "changed the tags to refund, vip" in html


def test_a_stale_form_only_applies_what_the_agent_changed(client, agent, manager, ticket):
    """Agent A's form still says "new"; B solved the ticket meanwhile. A changes the priority:
    the status stays solved."""
    from tickets.changes import update_ticket

    client.force_login(agent)
    update_ticket(ticket=ticket, actor=manager, status=Status.SOLVED)
    data = {
        "status": "new",
        "initial-status": "new",
        "priority": "3",
        "initial-priority": "2",
    }
    client.post(ticket_url("ticket_update", ticket), data)
    ticket.refresh_from_db()
    assert ticket.status == Status.SOLVED
    assert ticket.priority == 3


def test_an_invalid_change_is_refused_without_saving(client, agent, ticket):
    client.force_login(agent)
    response = client.post(
        ticket_url("ticket_update", ticket),
        {"status": "exploded", "priority": "2"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 422
    assert "Select a valid choice" in response.content.decode()
    ticket.refresh_from_db()
    assert ticket.status == Status.NEW
    assert not TimelineEvent.objects.filter(kind=EventKind.PRIORITY).exists()


def test_moving_a_ticket_out_of_the_agents_teams_goes_back_to_the_inbox(
    client, agent, ticket, other_team
):
    client.force_login(agent)
    response = client.post(ticket_url("ticket_update", ticket), {"team": str(other_team.pk)})
    assert response.status_code == 302
    assert response["Location"] == reverse("agents:inbox")


# --- Merge and split ------------------------------------------------------------------------


def test_it_merges_a_ticket_into_another_of_the_same_customer(client, agent, inbox, receive):
    target = receive(inbox, text="first ticket").ticket
    Ticket.objects.filter(pk=target.pk).update(status=Status.PENDING)
    source = receive(inbox, text="second ticket", kind="test", external_id="x2").ticket
    if source.pk == target.pk:  # threading put it in the same ticket: open a second one
        Ticket.objects.filter(pk=target.pk).update(status=Status.CLOSED)
        source = receive(inbox, text="second ticket").ticket
        Ticket.objects.filter(pk=target.pk).update(status=Status.OPEN)
    client.force_login(agent)

    response = client.post(ticket_url("ticket_merge", source), {"target": str(target.pk)})
    assert response.status_code == 302
    assert response["Location"] == ticket_url("ticket", target)
    source.refresh_from_db()
    assert source.merged_into_id == target.pk
    # The old address leads to the survivor.
    assert client.get(ticket_url("ticket", source))["Location"] == ticket_url("ticket", target)


def test_merging_into_a_stranger_is_refused(client, agent, inbox, receive, ticket):
    stranger = receive(inbox, sender="someone-else@example.com", text="mine").ticket
    client.force_login(agent)
    response = client.post(ticket_url("ticket_merge", ticket), {"target": str(stranger.pk)})
    assert response.status_code == 422
    ticket.refresh_from_db()
    assert ticket.merged_into_id is None


def test_it_splits_selected_messages_into_a_new_ticket(client, agent, inbox, receive, ticket):
    second = receive(inbox, text="Also: a different question").message
    client.force_login(agent)

    response = client.post(
        ticket_url("ticket_split", ticket), {"messages": [str(second.pk)], "subject": "Other"}
    )
    new = Ticket.objects.exclude(pk=ticket.pk).get()
    assert response["Location"] == ticket_url("ticket", new)
    assert new.subject == "Other"
    second.refresh_from_db()
    assert second.ticket_id == new.pk


def _timeline_lines(html: str) -> list[str]:
    return [
        re.sub(r"<[^>]+>", "", line)
        for line in re.findall(r'<span class="tl-text">(.*?)</span>', html)
    ]


def test_a_split_off_ticket_merged_back_still_names_itself(client, agent, inbox, receive, ticket):
    second = receive(inbox, text="Also: a different question").message
    client.force_login(agent)
    client.post(ticket_url("ticket_split", ticket), {"messages": [str(second.pk)]})
    new = Ticket.objects.exclude(pk=ticket.pk).get()
    response = client.post(ticket_url("ticket_merge", new), {"target": str(ticket.pk)})
    assert response["Location"] == ticket_url("ticket", ticket)

    lines = _timeline_lines(client.get(ticket_url("ticket", ticket)).content.decode())
    assert f"Ticket #{new.pk} split off from #{ticket.pk}" in lines
    assert lines.count(f"Ticket #{ticket.pk} opened via Test") == 1
    assert not [line for line in lines if f"#{ticket.pk} split off from #{ticket.pk}" in line]

    # Events merged back before merges kept the id do not claim the ticket split off itself.
    created = TimelineEvent.objects.get(kind=EventKind.TICKET_CREATED, data__split_from=ticket.pk)
    created.data = {k: v for k, v in created.data.items() if k != "ticket_id"}
    created.save()
    lines = _timeline_lines(client.get(ticket_url("ticket", ticket)).content.decode())
    assert f"A ticket was split off from #{ticket.pk}" in lines


def test_a_merged_tickets_opening_line_still_names_it(client, agent, inbox, receive):
    from tickets.changes import update_ticket

    first = receive(inbox, text="first ticket").ticket
    update_ticket(ticket=first, actor=agent, status=Status.CLOSED)
    second = receive(inbox, text="a new question").ticket
    assert second.pk != first.pk
    update_ticket(ticket=first, actor=agent, status=Status.OPEN)
    client.force_login(agent)
    client.post(ticket_url("ticket_merge", second), {"target": str(first.pk)})

    lines = _timeline_lines(client.get(ticket_url("ticket", first)).content.decode())
    assert lines.count(f"Ticket #{first.pk} opened via Test") == 1
    assert [line for line in lines if line.startswith(f"Ticket #{second.pk} opened via Test")]


def test_a_split_that_would_empty_the_ticket_is_explained(client, agent, ticket):
    only = Message.objects.get(ticket=ticket)
    client.force_login(agent)
    response = client.post(ticket_url("ticket_split", ticket), {"messages": [str(only.pk)]})
    assert response.status_code == 302
    page = client.get(response["Location"]).content.decode()
    assert "at least one message on the ticket" in page
    assert Ticket.objects.count() == 1


# --- Delivery state, language ------------------------------------------------------------------


def test_the_delivery_partial_shows_the_state(client, agent, ticket):
    from tickets.delivery import claim_for_sending, record_delivery

    reply = record_reply(ticket=ticket, author=agent, text="On its way").message
    claim_for_sending(reply.pk)
    record_delivery(message_id=reply.pk, state=Delivery.SENT)
    client.force_login(agent)

    html = client.get(ticket_url("message_delivery", ticket, reply.pk)).content.decode()
    assert "delivery-sent" in html and "Sent" in html


def test_the_language_switch_saves_the_agents_profile(client, agent, ticket):
    client.force_login(agent)
    response = client.post(
        reverse("agents:set_language"), {"language": "pl", "next": reverse("agents:inbox")}
    )
    assert response.status_code == 302
    assert Profile.objects.get(user=agent).language == "pl"

    html = client.get(reverse("agents:inbox")).content.decode()
    assert '<html lang="pl">' in html

    client.post(reverse("agents:set_language"), {"language": "cs", "next": "/agent/"})
    assert '<html lang="cs">' in client.get(reverse("agents:inbox")).content.decode()


def test_attachments_download_only_for_agents_who_see_the_ticket(
    client, agent, other_agent, inbox, receive
):
    from tickets.ingest import InboundAttachment

    result = receive(
        inbox,
        text="See the invoice",
        attachments=(InboundAttachment("invoice.pdf", "application/pdf", b"%PDF-1.4 test"),),
    )
    item = result.message.attachments.get()
    url = reverse("agents:attachment", args=[result.ticket.pk, item.pk])

    client.force_login(agent)
    page = client.get(ticket_url("ticket", result.ticket)).content.decode()
    assert url in page and "invoice.pdf" in page
    response = client.get(url)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"%PDF-1.4 test"

    client.force_login(other_agent)
    assert client.get(url).status_code == 404
