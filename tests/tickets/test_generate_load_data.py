"""generate_load_data: small N, on whichever database the suite runs (COPY on PostgreSQL)."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Count, OuterRef

from tickets.ingest import InboundMessage, SenderIdentity, ingest
from tickets.models import (
    Customer,
    Direction,
    EventKind,
    Identity,
    Inbox,
    Message,
    Status,
    Ticket,
    TimelineEvent,
)

pytestmark = pytest.mark.django_db


def generate(*args: str) -> str:
    out = StringIO()
    call_command("generate_load_data", *args, stdout=out)
    return out.getvalue()


def test_it_writes_consistent_tickets_messages_and_timeline():
    generate("--tickets", "300", "--messages-per-ticket", "3", "--heavy-customer-events", "60")

    assert Ticket.objects.count() == 300
    assert Customer.objects.count() == 100
    assert Identity.objects.values("customer_id").distinct().count() == 100
    assert Inbox.objects.filter(config__load_data=True).count() == 7
    # One TICKET_CREATED per ticket; one MESSAGE or NOTE event per message.
    created = TimelineEvent.objects.filter(kind=EventKind.TICKET_CREATED)
    assert created.count() == 300
    message_events = TimelineEvent.objects.filter(kind__in=[EventKind.MESSAGE, EventKind.NOTE])
    assert message_events.count() == Message.objects.count()
    ticket_of_message = Message.objects.filter(pk=OuterRef("message_id")).values("ticket_id")
    assert not message_events.exclude(ticket_id=ticket_of_message[:1]).exists()
    # Every ticket starts with the customer's message; its activity is its last message.
    for ticket in Ticket.objects.all()[:50]:
        messages = list(ticket.messages.filter(is_note=False).order_by("id"))
        assert messages[0].direction == Direction.IN
        assert ticket.last_activity_at == messages[-1].created_at
        assert ticket.customer.identities.exists()
    # Old tickets are mostly done; the heavy customer has the long timeline.
    statuses = dict(Ticket.objects.values_list("status").annotate(n=Count("id")))
    assert statuses.get(Status.CLOSED, 0) + statuses.get(Status.SOLVED, 0) > 150
    heavy = Customer.objects.get(attributes__load_data="heavy")
    assert TimelineEvent.objects.filter(customer=heavy).count() >= 40


def test_it_refuses_a_second_run_unless_told_to_append_or_top_up():
    generate("--tickets", "30")

    with pytest.raises(CommandError, match="--append"):
        generate("--tickets", "30")
    generate("--tickets", "20", "--append")
    assert Ticket.objects.count() == 50
    assert "nothing to add" in generate("--tickets", "50", "--top-up")
    generate("--tickets", "60", "--top-up")
    assert Ticket.objects.count() == 60


def test_it_leaves_ids_and_sequences_ready_for_ingest():
    generate("--tickets", "40")
    inbox = Inbox.objects.filter(config__load_data=True).first()
    top = Ticket.objects.order_by("-id").first().pk

    result = ingest(
        InboundMessage(
            inbox_id=inbox.pk,
            channel=inbox.channel,
            sender=SenderIdentity(kind="email", value="after.load@example.com"),
            external_id="after-load-1",
            text="Hello after the load",
        )
    )

    assert result.ticket.pk > top
    assert (
        result.message.pk > Message.objects.exclude(pk=result.message.pk).order_by("-id").first().pk
    )
