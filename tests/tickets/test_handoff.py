"""A chat held for self-service: only a new, unassigned one is held, and an agent's reply
takes it over (tickets/handoff.py)."""

from __future__ import annotations

from tickets.changes import update_ticket
from tickets.handoff import BUTTON, hand_over, hold_for_self_service, record_self_served
from tickets.models import EventKind, Status, Ticket, TimelineEvent
from tickets.replies import record_reply

ARTICLE = [{"id": 7, "title": "Zwrot towaru", "opened": False}]


def test_only_a_new_unassigned_chat_is_held(widget_inbox, receive, agent):
    fresh = receive(widget_inbox, sender="visitor-1", text="Zwrot?")
    assert hold_for_self_service(
        ticket_id=fresh.ticket.pk, message_id=fresh.message.pk, articles=ARTICLE
    )
    taken = receive(widget_inbox, sender="visitor-2", text="Zwrot?")
    update_ticket(ticket=taken.ticket, actor=None, assignee=agent)
    assert not hold_for_self_service(
        ticket_id=taken.ticket.pk, message_id=taken.message.pk, articles=ARTICLE
    )
    assert not Ticket.objects.get(pk=taken.ticket.pk).awaiting_handoff
    # No article, nothing to hold for.
    other = receive(widget_inbox, sender="visitor-3", text="Hej")
    assert not hold_for_self_service(
        ticket_id=other.ticket.pk, message_id=other.message.pk, articles=[]
    )


def test_an_agents_reply_takes_a_held_chat_over(widget_inbox, receive, agent):
    held = receive(widget_inbox, sender="visitor-1", text="Zwrot?")
    hold_for_self_service(ticket_id=held.ticket.pk, message_id=held.message.pk, articles=ARTICLE)
    record_reply(ticket=Ticket.objects.get(pk=held.ticket.pk), author=agent, text="Dzień dobry!")
    ticket = Ticket.objects.get(pk=held.ticket.pk)
    assert not ticket.awaiting_handoff
    # The visitor cannot solve a chat an agent is on, nor hand over twice.
    assert not record_self_served(ticket_id=ticket.pk, articles=ARTICLE)
    assert Ticket.objects.get(pk=ticket.pk).status == Status.OPEN
    assert not hand_over(ticket_id=ticket.pk, reason=BUTTON)
    kinds = TimelineEvent.objects.filter(ticket=ticket, kind=EventKind.SELF_SERVICE)
    assert [e.data["action"] for e in kinds] == ["suggested"]
