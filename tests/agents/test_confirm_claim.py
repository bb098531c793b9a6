"""An agent vouches for a chat visitor's typed email: merge into its owner, or make it theirs."""

from __future__ import annotations

from django.urls import reverse

from tickets.models import Customer, Identity, IdentityKind


def _claim(customer: Customer, email: str) -> None:
    Customer.objects.filter(pk=customer.pk).update(
        attributes={"claimed_email": email, "plan": "Pro"}
    )


def test_the_claim_is_shown_and_confirming_merges_into_the_owner(
    client, agent, widget_inbox, email_inbox, receive
):
    owner = receive(email_inbox, sender="jana@example.cz", kind=IdentityKind.EMAIL).ticket.customer
    chat = receive(widget_inbox, sender="visitor-1", kind=IdentityKind.WIDGET).ticket
    _claim(chat.customer, "Jana@Example.cz")
    client.force_login(agent)
    page = client.get(reverse("agents:ticket", args=[chat.pk])).content.decode()
    assert "Says they are <strong>Jana@Example.cz</strong>" in page

    response = client.post(reverse("agents:ticket_confirm_claim", args=[chat.pk]), follow=True)
    assert "Confirmed: the chat now belongs to" in response.content.decode()
    chat.refresh_from_db()
    assert chat.customer_id == owner.pk
    assert Identity.objects.get(kind=IdentityKind.WIDGET, value="visitor-1").customer_id == owner.pk
    merged = Customer.objects.get(pk=chat.customer_id)
    assert "claimed_email" not in merged.attributes


def test_confirming_a_new_address_makes_it_the_visitors_own_verified(
    client, agent, widget_inbox, receive
):
    chat = receive(widget_inbox, sender="visitor-2", kind=IdentityKind.WIDGET).ticket
    _claim(chat.customer, "new.person@example.pl")
    client.force_login(agent)
    client.post(reverse("agents:ticket_confirm_claim", args=[chat.pk]))
    identity = Identity.objects.get(kind=IdentityKind.EMAIL, value="new.person@example.pl")
    assert identity.customer_id == chat.customer_id and identity.verified
    customer = Customer.objects.get(pk=chat.customer_id)
    assert customer.attributes == {"plan": "Pro"}


def test_without_a_claim_nothing_changes(client, agent, widget_inbox, receive):
    chat = receive(widget_inbox, sender="visitor-3", kind=IdentityKind.WIDGET).ticket
    client.force_login(agent)
    response = client.post(reverse("agents:ticket_confirm_claim", args=[chat.pk]), follow=True)
    assert "has not said who they are" in response.content.decode()
    assert not Identity.objects.filter(kind=IdentityKind.EMAIL).exists()


def test_an_agent_who_cannot_see_the_ticket_cannot_confirm(
    client, other_agent, widget_inbox, receive
):
    chat = receive(widget_inbox, sender="visitor-4", kind=IdentityKind.WIDGET).ticket
    _claim(chat.customer, "someone@example.com")
    client.force_login(other_agent)
    response = client.post(reverse("agents:ticket_confirm_claim", args=[chat.pk]))
    assert response.status_code == 404
    assert not Identity.objects.filter(kind=IdentityKind.EMAIL).exists()


def test_the_claim_is_not_listed_as_a_plain_attribute(client, agent, widget_inbox, receive):
    chat = receive(widget_inbox, sender="visitor-5", kind=IdentityKind.WIDGET).ticket
    _claim(chat.customer, "x@example.com")
    client.force_login(agent)
    page = client.get(reverse("agents:ticket", args=[chat.pk])).content.decode()
    assert "<dt>claimed_email</dt>" not in page and "<dt>plan</dt>" in page
