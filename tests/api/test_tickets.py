import pytest

from tickets.changes import update_ticket
from tickets.models import (
    Customer,
    EventKind,
    Message,
    Priority,
    Status,
    Ticket,
    TimelineEvent,
)

from .checks import assert_error

pytestmark = pytest.mark.django_db


def ids(response):
    assert response.status_code == 200, response.content
    return [t["id"] for t in response.json()["results"]]


@pytest.fixture
def board(agent, inbox, email_inbox, receive):
    """Four tickets of the Support team in different states."""
    a = receive(inbox, sender="a@example.com", text="printer on fire", name="Ada").ticket
    b = receive(
        email_inbox, sender="b@example.com", kind="email", text="invoice", name="Bob"
    ).ticket
    c = receive(inbox, sender="c@example.com", text="password reset", name="Cyd").ticket
    d = receive(inbox, sender="d@example.com", text="thanks", name="Dee").ticket
    update_ticket(ticket=a, actor=agent, priority=Priority.URGENT, tags=["Fire", "hardware"])
    update_ticket(ticket=b, actor=agent, status=Status.PENDING, assignee=agent)
    update_ticket(ticket=d, actor=agent, status=Status.SOLVED)
    return a, b, c, d


def test_it_lists_open_tickets_by_recent_activity(api, board):
    a, b, c, d = board

    response = api.get("/api/v1/tickets/")

    assert ids(response) == [c.pk, b.pk, a.pk]
    first = response.json()["results"][-1]
    assert first["customer"]["name"] == "Ada"
    assert first["tags"] == ["fire", "hardware"]
    assert first["priority"] == Priority.URGENT
    assert first["team"]["name"] == "Support"
    assert first["reference"] == f"#{a.pk}"


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"status": "solved"}, "d"),
        ({"status": "pending,solved"}, "bd"),
        ({"status": "any"}, "abcd"),
        ({"channel": "email"}, "b"),
        ({"priority": "4"}, "a"),
        ({"tag": "Fire"}, "a"),
        ({"view": "mine"}, "b"),
        ({"view": "unassigned"}, "ac"),
        ({"q": "cyd"}, "c"),
        ({"q": "b@example"}, "b"),
        ({"q": "printer"}, "a"),  # in the subject
        ({"sort": "waiting"}, "abc"),
    ],
)
def test_it_filters_tickets(api, board, params, expected):
    by_name = dict(zip("abcd", board, strict=True))

    got = ids(api.get("/api/v1/tickets/", params))

    assert sorted(got) == sorted(by_name[x].pk for x in expected)
    if "sort" in params:
        assert got == [by_name[x].pk for x in expected]


def test_it_filters_by_inbox_and_ticket_number(api, board, email_inbox):
    a, b, _, _ = board

    assert ids(api.get("/api/v1/tickets/", {"inbox": email_inbox.pk})) == [b.pk]
    assert ids(api.get("/api/v1/tickets/", {"q": f"#{a.pk}"})) == [a.pk]


def test_it_pages_through_tickets_with_the_cursor(api, inbox, receive):
    made = [receive(inbox, sender=f"p{n}@example.com").ticket.pk for n in range(7)]

    seen, url, params = [], "/api/v1/tickets/", {"page_size": 3, "sort": "newest"}
    while url:
        body = api.get(url, params).json()
        seen += [t["id"] for t in body["results"]]
        url, params = body["next"], None
    assert seen == made[::-1]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"status": "open,weird"}, "status"),
        ({"channel": "pigeon"}, "channel"),
        ({"priority": "9"}, "priority"),
        ({"view": "everyone"}, "view"),
        ({"sort": "random"}, "sort"),
        ({"inbox": "x"}, "inbox"),
        ({"cursor": "garbage"}, "cursor"),
        ({"cursor": "WyIyMDI2LTEzLTAxVDAwOjAwOjAwIiwgMV0"}, "cursor"),  # month 13
        ({"page_size": "101"}, "page_size"),
    ],
)
def test_it_refuses_bad_filters_with_field_errors(api, params, field):
    body = assert_error(api.get("/api/v1/tickets/", params), 400, "invalid")
    assert list(body["fields"]) == [field]
    assert body["detail"].startswith(f"{field}: ")


def test_it_shows_a_ticket(api, board):
    a = board[0]

    body = api.get(f"/api/v1/tickets/{a.pk}/").json()

    assert body["id"] == a.pk and body["status"] == "new" and body["inbox"] == a.inbox_id
    assert body["merged_into"] is None


def test_patch_changes_are_recorded_on_the_timeline(api, agent, manager, board):
    a = board[0]

    response = api.patch(
        f"/api/v1/tickets/{a.pk}/",
        {"status": "pending", "priority": 3, "assignee": manager.pk, "tags": ["VIP", "hardware"]},
        format="json",
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "pending" and body["priority"] == 3
    assert body["assignee"]["email"] == "manager@example.com"
    assert body["tags"] == ["hardware", "vip"]
    # The latest event of each kind (the board fixture made earlier ones).
    events = {e.kind: e.data for e in TimelineEvent.objects.filter(ticket=a).order_by("id")}
    assert events[EventKind.STATUS] == {"from": "new", "to": "pending"}
    assert events[EventKind.PRIORITY] == {"from": 4, "to": 3}
    assert events[EventKind.ASSIGNEE] == {"from": None, "to": "manager@example.com"}
    assert events[EventKind.TAGS] == {"from": ["fire", "hardware"], "to": ["hardware", "vip"]}
    timeline = api.get(f"/api/v1/customers/{a.customer_id}/timeline/").json()["results"]
    assert {e["kind"] for e in timeline[:4]} == {"status", "priority", "assignee", "tags"}
    assert {e["actor"]["id"] for e in timeline[:4]} == {agent.pk}


def test_patch_can_unassign_and_move_team(api, agent, other_team, board):
    b = board[1]

    response = api.patch(
        f"/api/v1/tickets/{b.pk}/", {"assignee": None, "team": other_team.pk}, format="json"
    )

    assert response.status_code == 200, response.content
    assert response.json()["assignee"] is None and response.json()["team"]["name"] == "Billing"
    # The ticket left the agent's view with that change.
    assert_error(api.get(f"/api/v1/tickets/{b.pk}/"), 404)


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"status": "done"}, "status"),
        ({"priority": 7}, "priority"),
        ({"assignee": 9999}, "assignee"),
        ({"team": 9999}, "team"),
        ({"tags": "not-a-list"}, "tags"),
        ({"subject": "new subject"}, "subject"),
        ({}, None),
    ],
)
def test_patch_refuses_bad_input_and_changes_nothing(api, board, payload, field):
    a = board[0]
    before = TimelineEvent.objects.count()

    body = assert_error(api.patch(f"/api/v1/tickets/{a.pk}/", payload, format="json"), 400)

    if field:
        assert list(body["fields"]) == [field]
    else:
        assert body["detail"].startswith("Nothing to change")
    assert TimelineEvent.objects.count() == before
    assert Ticket.objects.get(pk=a.pk).status == "new"


def test_patch_maps_change_errors_to_400(api, board):
    a = board[0]

    body = assert_error(
        api.patch(
            f"/api/v1/tickets/{a.pk}/", {"tags": [f"t{n}" for n in range(21)]}, format="json"
        ),
        400,
    )
    assert body["fields"]["tags"]


def test_it_opens_a_ticket_for_a_known_customer(api, agent, jan, email_inbox):
    customer, _, _ = jan

    response = api.post(
        "/api/v1/tickets/",
        {
            "customer": customer.pk,
            "inbox": email_inbox.pk,
            "subject": "Called about a refund",
            "text": "I want my money back for order 1234.",
            "priority": 3,
        },
        format="json",
    )

    assert response.status_code == 201, response.content
    body = response.json()
    ticket = Ticket.objects.get(pk=body["id"])
    assert body["customer"]["id"] == customer.pk and body["status"] == "new"
    assert body["subject"] == "Called about a refund" and body["priority"] == 3
    assert ticket.team.name == "Support" and ticket.last_channel == "email"
    message = ticket.messages.get()
    assert message.direction == "in" and message.author_kind == "customer"
    assert message.body_text == "I want my money back for order 1234."
    assert message.meta == {"opened_by": agent.pk}
    kinds = list(ticket.events.order_by("id").values_list("kind", "actor"))
    assert kinds == [(EventKind.TICKET_CREATED, agent.pk), (EventKind.MESSAGE, agent.pk)]


def test_it_opens_a_ticket_by_identity_creating_the_customer_once(api, inbox, email_inbox):
    payload = {
        "identity": {"kind": "email", "value": "New.Person@Example.com", "name": "Nowa Osoba"},
        "inbox": email_inbox.pk,
        "html": "<p>Please call me back</p><script>alert(1)</script>",
    }

    first = api.post("/api/v1/tickets/", payload, format="json")
    second = api.post("/api/v1/tickets/", payload, format="json")

    assert first.status_code == second.status_code == 201
    assert first.json()["id"] != second.json()["id"]  # an explicit new request each time
    customer = Customer.objects.get(identities__value="new.person@example.com")
    assert customer.name == "Nowa Osoba"
    assert first.json()["customer"]["id"] == second.json()["customer"]["id"] == customer.pk
    message = Message.objects.get(ticket_id=first.json()["id"])
    assert "script" not in message.body_html and message.body_text == "Please call me back"
    assert first.json()["subject"] == "Please call me back"


def test_opening_a_ticket_is_idempotent_with_a_key(api, jan, email_inbox):
    customer, _, _ = jan
    payload = {"customer": customer.pk, "inbox": email_inbox.pk, "text": "Call-back request"}

    first = api.post("/api/v1/tickets/", payload, format="json", HTTP_IDEMPOTENCY_KEY="open-1")
    again = api.post("/api/v1/tickets/", payload, format="json", HTTP_IDEMPOTENCY_KEY="open-1")

    assert first.status_code == 201 and again.status_code == 200
    assert again["Idempotent-Replayed"] == "true"
    assert first.json()["id"] == again.json()["id"]
    assert Ticket.objects.filter(customer=customer).count() == 3


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"inbox": "{email}", "text": "x"}, None),  # neither customer nor identity
        (
            {
                "customer": "{jan}",
                "identity": {"kind": "email", "value": "a@b.cz"},
                "inbox": "{email}",
                "text": "x",
            },
            None,
        ),
        ({"customer": "{jan}", "inbox": "{email}"}, "text"),
        ({"customer": "{jan}", "inbox": "{email}", "text": "   "}, "text"),
        ({"customer": "{jan}", "inbox": 9999, "text": "x"}, "inbox"),
        ({"customer": "{jan}", "inbox": "{billing}", "text": "x"}, "inbox"),
        ({"customer": "{stranger}", "inbox": "{email}", "text": "x"}, "customer"),
        (
            {"identity": {"kind": "phone", "value": "12"}, "inbox": "{email}", "text": "x"},
            "identity.value",
        ),
        ({"customer": "{jan}", "inbox": "{email}", "text": "x", "priority": 0}, "priority"),
    ],
)
def test_opening_refuses_bad_input_and_stores_nothing(
    api, jan, email_inbox, other_inbox, receive, payload, field
):
    stranger = receive(other_inbox, sender="stranger@example.com").ticket.customer
    values = {
        "{jan}": jan[0].pk,
        "{email}": email_inbox.pk,
        "{billing}": other_inbox.pk,
        "{stranger}": stranger.pk,
    }
    payload = {k: values.get(v, v) if isinstance(v, str) else v for k, v in payload.items()}
    counts = (Ticket.objects.count(), Message.objects.count(), Customer.objects.count())

    body = assert_error(api.post("/api/v1/tickets/", payload, format="json"), 400, "invalid")

    if field:
        assert list(body["fields"]) == [field], body
    else:
        assert "customer" in body["detail"] and "identity" in body["detail"]
    assert (Ticket.objects.count(), Message.objects.count(), Customer.objects.count()) == counts


def test_opening_on_an_inactive_inbox_is_refused(api, jan, email_inbox):
    email_inbox.is_active = False
    email_inbox.save()

    body = assert_error(
        api.post(
            "/api/v1/tickets/",
            {"customer": jan[0].pk, "inbox": email_inbox.pk, "text": "x"},
            format="json",
        ),
        400,
        "opening_error",
    )
    assert "not active" in body["detail"]


def test_agents_cannot_see_or_change_other_teams_tickets(
    api, other_api, manager_api, board, other_inbox, receive
):
    billing = receive(other_inbox, sender="billing@example.com").ticket

    assert billing.pk not in ids(api.get("/api/v1/tickets/", {"status": "any"}))
    assert ids(other_api.get("/api/v1/tickets/")) == [billing.pk]
    assert billing.pk in ids(manager_api.get("/api/v1/tickets/"))
    for response in (
        api.get(f"/api/v1/tickets/{billing.pk}/"),
        api.patch(f"/api/v1/tickets/{billing.pk}/", {"status": "solved"}, format="json"),
        api.get(f"/api/v1/tickets/{billing.pk}/messages/"),
        api.post(f"/api/v1/tickets/{billing.pk}/split/", {"messages": [1]}, format="json"),
    ):
        body = assert_error(response, 404, "not_found")
        assert body["detail"] == f"There is no ticket #{billing.pk} that you can see."
    assert Ticket.objects.get(pk=billing.pk).status == "new"


def test_an_agent_sees_a_ticket_assigned_to_them_in_another_team(
    api, agent, manager, other_inbox, receive
):
    billing = receive(other_inbox, sender="billing@example.com").ticket
    update_ticket(ticket=billing, actor=manager, assignee=agent)

    assert api.get(f"/api/v1/tickets/{billing.pk}/").status_code == 200
