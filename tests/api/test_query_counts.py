"""No list's query count grows with its page size (5 or 100 rows, same count)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tickets.changes import update_ticket
from tickets.ingest import InboundAttachment
from tickets.models import Tag
from tickets.replies import add_note, record_reply

pytestmark = pytest.mark.django_db

PAGE_SIZES = (5, 100)
ROWS = 105


@pytest.fixture
def crowd(agent, inbox, email_inbox, receive):
    """ROWS customers with a tagged, assigned ticket each; one of them with ROWS messages."""
    tag = Tag.objects.create(name="vip")
    for n in range(ROWS):
        result = receive(inbox, sender=f"c{n}@example.com", name=f"Customer {n}")
        update_ticket(ticket=result.ticket, actor=agent, assignee=agent, tags=["bulk", f"t{n}"])
        result.ticket.customer.tags.add(tag)
    busy = None
    for n in range(ROWS):
        result = receive(
            email_inbox,
            sender="busy@example.com",
            kind="email",
            text=f"message {n}",
            attachments=(InboundAttachment(f"scan{n}.txt", "text/plain", b"hello"),),
        )
        busy = result.ticket
    record_reply(ticket=busy, author=agent, text="On it.")
    add_note(ticket=busy, author=agent, text="Asked the warehouse.")
    return busy


def count_queries(client, url, size):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, {"page_size": size})
    assert response.status_code == 200, response.content
    assert len(response.json()["results"]) == size
    return len(queries)


def urls(ticket):
    return {
        "customers": "/api/v1/customers/",
        "customer search": "/api/v1/customers/?q=example",
        "tickets": "/api/v1/tickets/",
        "timeline": f"/api/v1/customers/{ticket.customer_id}/timeline/",
        "messages": f"/api/v1/tickets/{ticket.pk}/messages/",
    }


# Auth (token + user), role, teams, then the page and its prefetches.
MAX_QUERIES = {
    "customers": 6,
    "customer search": 6,
    "tickets": 5,
    "timeline": 6,
    "messages": 6,
}


@pytest.mark.parametrize("name", list(MAX_QUERIES))
def test_a_page_costs_the_same_whatever_its_size(api, crowd, name, django_assert_max_num_queries):
    url = urls(crowd)[name]
    counts = [count_queries(api, url, size) for size in PAGE_SIZES]

    assert counts[0] == counts[1], counts
    for size in PAGE_SIZES:
        with django_assert_max_num_queries(MAX_QUERIES[name]):
            api.get(url, {"page_size": size})


def test_inboxes_list_costs_the_same_whatever_its_size(
    admin_api, team, django_assert_max_num_queries
):
    from channels_in.inboxes import create_inbox

    for n in range(ROWS):
        create_inbox(channel="sms", name=f"Number {n}", team=team)
    for size in PAGE_SIZES:
        with django_assert_max_num_queries(3):
            response = admin_api.get("/api/v1/inboxes/", {"page_size": size})
        assert len(response.json()["results"]) == size
