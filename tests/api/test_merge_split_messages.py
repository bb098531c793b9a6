import pytest

from tickets.models import EventKind, Message, Ticket, TimelineEvent
from tickets.replies import add_note

from .checks import assert_error

pytestmark = pytest.mark.django_db


def test_it_merges_a_ticket_into_another(api, agent, jan):
    _, mail_ticket, sms_ticket = jan

    response = api.post(
        f"/api/v1/tickets/{sms_ticket.pk}/merge/", {"into": mail_ticket.pk}, format="json"
    )

    assert response.status_code == 200, response.content
    assert response.json()["id"] == mail_ticket.pk
    sms_ticket.refresh_from_db()
    assert sms_ticket.merged_into_id == mail_ticket.pk and sms_ticket.status == "closed"
    assert mail_ticket.messages.count() == 2
    assert TimelineEvent.objects.get(kind=EventKind.TICKET_MERGED).actor == agent
    listed = [t["id"] for t in api.get("/api/v1/tickets/").json()["results"]]
    assert sms_ticket.pk not in listed
    # A merged ticket sends replies and notes to the survivor.
    body = assert_error(
        api.post(f"/api/v1/tickets/{sms_ticket.pk}/replies/", {"text": "x"}, format="json"),
        400,
        "reply_error",
    )
    assert f"merged into #{mail_ticket.pk}" in body["detail"]


def test_it_refuses_bad_ticket_merges(api, jan, inbox, other_inbox, receive):
    _, mail_ticket, _ = jan
    stranger = receive(inbox, sender="stranger@example.com").ticket
    billing = receive(other_inbox, sender="billing@example.com").ticket
    url = f"/api/v1/tickets/{mail_ticket.pk}/merge/"

    body = assert_error(api.post(url, {"into": stranger.pk}, format="json"), 400, "merge_error")
    assert "same customer" in body["detail"]
    assert_error(api.post(url, {"into": mail_ticket.pk}, format="json"), 400, "merge_error")
    body = assert_error(api.post(url, {"into": billing.pk}, format="json"), 400, "invalid")
    assert body["fields"] == {"into": [f"There is no ticket #{billing.pk} that you can see."]}
    assert not Ticket.objects.filter(merged_into__isnull=False).exists()


def test_it_splits_messages_into_a_new_ticket(api, agent, email_inbox, receive):
    first = receive(email_inbox, sender="jan@example.com", kind="email", text="Order late")
    other = receive(email_inbox, sender="jan@example.com", kind="email", text="Also: new address")
    ticket = first.ticket

    response = api.post(
        f"/api/v1/tickets/{ticket.pk}/split/",
        {"messages": [other.message.pk], "subject": "Address change"},
        format="json",
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["subject"] == "Address change" and body["follows"] == ticket.pk
    assert list(Message.objects.filter(ticket_id=body["id"]).values_list("id", flat=True)) == [
        other.message.pk
    ]
    assert TimelineEvent.objects.get(kind=EventKind.TICKET_SPLIT).actor == agent


def test_it_refuses_bad_splits(api, jan):
    _, mail_ticket, sms_ticket = jan
    url = f"/api/v1/tickets/{mail_ticket.pk}/split/"
    only = mail_ticket.messages.get().pk
    elsewhere = sms_ticket.messages.get().pk

    assert_error(api.post(url, {"messages": []}, format="json"), 400, "invalid")
    assert_error(api.post(url, {"messages": ["a"]}, format="json"), 400, "invalid")
    body = assert_error(api.post(url, {"messages": [elsewhere]}, format="json"), 400, "merge_error")
    assert "not on this ticket" in body["detail"]
    assert_error(api.post(url, {"messages": [only]}, format="json"), 400, "merge_error")
    assert Ticket.objects.count() == 2


def test_it_lists_a_tickets_messages_oldest_first(api, agent, email_inbox, receive):
    ticket = receive(email_inbox, sender="jan@example.com", kind="email", text="one").ticket
    receive(email_inbox, sender="jan@example.com", kind="email", text="two")
    add_note(ticket=ticket, author=agent, text="three")

    first = api.get(f"/api/v1/tickets/{ticket.pk}/messages/", {"page_size": 2}).json()
    second = api.get(first["next"]).json()

    assert [m["text"] for m in first["results"] + second["results"]] == ["one", "two", "three"]
    assert second["results"][0]["is_note"] and second["next"] is None
    for cursor in ("a", "cD1hYmM="):  # undecodable; a position that is no id ("p=abc")
        body = assert_error(
            api.get(f"/api/v1/tickets/{ticket.pk}/messages/", {"cursor": cursor}), 400
        )
        assert list(body["fields"]) == ["cursor"]
