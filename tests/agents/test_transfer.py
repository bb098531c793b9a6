"""Transferring a chat to another agent or team, with an internal note."""

from __future__ import annotations

from tickets.models import Message, Ticket


def chat_ticket(receive, widget_inbox) -> Ticket:
    return receive(widget_inbox, sender="visitor-1", text="Hello?").ticket


def test_it_transfers_a_chat_to_an_agent_with_a_note(
    client, agent, other_agent, receive, widget_inbox
):
    ticket = chat_ticket(receive, widget_inbox)
    client.force_login(agent)
    page = client.get(f"/agent/tickets/{ticket.pk}/")
    assert b'id="transfer-form"' in page.content
    response = client.post(
        f"/agent/tickets/{ticket.pk}/transfer/",
        {"assignee": other_agent.pk, "note": "Billing question"},
    )
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.assignee == other_agent
    note = Message.objects.get(ticket=ticket, is_note=True)
    assert note.body_text == "Transferred to Tomáš Dvořák: Billing question"
    assert note.author == agent


def test_it_transfers_a_chat_to_a_team_queue(client, agent, other_team, receive, widget_inbox):
    ticket = chat_ticket(receive, widget_inbox)
    Ticket.objects.filter(pk=ticket.pk).update(assignee=agent)
    client.force_login(agent)
    response = client.post(f"/agent/tickets/{ticket.pk}/transfer/", {"team": other_team.pk})
    assert response.status_code == 302
    assert response["Location"] == "/agent/"  # no longer in the agent's teams
    ticket.refresh_from_db()
    assert ticket.team == other_team
    assert ticket.assignee is None
    assert Message.objects.get(ticket=ticket, is_note=True).body_text == (
        "Transferred to team Billing."
    )


def test_it_needs_a_target(client, agent, receive, widget_inbox):
    ticket = chat_ticket(receive, widget_inbox)
    client.force_login(agent)
    response = client.post(f"/agent/tickets/{ticket.pk}/transfer/", {"note": "x"})
    assert response.status_code == 422
    assert not Message.objects.filter(ticket=ticket, is_note=True).exists()


def test_it_refuses_who_may_not_see_the_ticket_and_non_chats(
    client, agent, other_agent, receive, widget_inbox, inbox
):
    ticket = chat_ticket(receive, widget_inbox)
    client.force_login(other_agent)
    response = client.post(f"/agent/tickets/{ticket.pk}/transfer/", {"assignee": other_agent.pk})
    assert response.status_code == 404
    email_ticket = receive(inbox, sender="jan@example.com").ticket
    client.force_login(agent)
    response = client.post(f"/agent/tickets/{email_ticket.pk}/transfer/", {"assignee": agent.pk})
    assert response.status_code == 404
    ticket.refresh_from_db()
    assert ticket.assignee is None
