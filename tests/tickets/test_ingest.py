from datetime import timedelta

import pytest
from django.utils import timezone

from tickets.events import MessageReceived, subscribe
from tickets.ingest import InboundMessage, IngestError, SenderIdentity, ingest
from tickets.models import Customer, EventKind, Identity, Message, Status, Ticket, TimelineEvent

pytestmark = pytest.mark.django_db(transaction=True)


def test_it_creates_customer_ticket_message_and_timeline(inbox, receive):
    result = receive(inbox, text="Where is my order 1234?")

    assert not result.duplicate and result.ticket_created
    customer = result.ticket.customer
    assert customer.name == "Jan Kowalski"
    assert Identity.objects.get(customer=customer).value == "jan@example.com"
    assert result.ticket.status == Status.NEW
    assert result.ticket.team_id == inbox.team_id
    assert result.ticket.preview == "Where is my order 1234?"
    kinds = list(
        TimelineEvent.objects.filter(customer=customer)
        .order_by("id")
        .values_list("kind", flat=True)
    )
    assert kinds == [EventKind.TICKET_CREATED, EventKind.MESSAGE]


def test_it_stores_a_replay_once(inbox, receive):
    first = receive(inbox, external_id="m-1")
    again = receive(inbox, external_id="m-1", text="different text, same id")

    assert again.duplicate
    assert again.message.pk == first.message.pk
    assert Message.objects.count() == 1
    assert TimelineEvent.objects.filter(kind=EventKind.MESSAGE).count() == 1


def test_it_threads_follow_ups_into_the_open_ticket(inbox, receive):
    first = receive(inbox, text="one")
    second = receive(inbox, text="two")

    assert second.ticket.pk == first.ticket.pk
    assert Ticket.objects.count() == 1
    assert second.ticket.preview == "two"


def test_it_resolves_identity_case_insensitively_for_email(db, team, receive):
    from channels_in.inboxes import create_inbox

    email_inbox = create_inbox(channel="email", name="Mail", team=team)
    a = receive(email_inbox, sender="Jan@Example.com", kind="email")
    b = receive(email_inbox, sender="jan@example.com", kind="email")

    assert a.ticket.customer_id == b.ticket.customer_id
    assert Customer.objects.count() == 1


def test_it_threads_by_hint_into_that_ticket(inbox, receive):
    first = receive(inbox, external_id="root")
    receive(inbox, text="unrelated").ticket.set_status(Status.SOLVED)
    Ticket.objects.filter(pk=first.ticket.pk).update(status=Status.PENDING)

    reply = receive(inbox, thread_hints=("root",))

    assert reply.ticket.pk == first.ticket.pk
    assert reply.ticket.status == Status.OPEN  # the customer answered a pending ticket


def test_a_hint_never_crosses_to_another_customer(inbox, receive):
    victim = receive(inbox, sender="victim@example.com", external_id="victim-msg")
    attacker = receive(inbox, sender="attacker@example.com", thread_hints=("victim-msg",))

    assert attacker.ticket.pk != victim.ticket.pk
    assert attacker.ticket.customer_id != victim.ticket.customer_id


def test_it_reopens_a_solved_ticket_within_the_window(inbox, receive, settings):
    settings.REOPEN_WINDOW_DAYS = 7
    first = receive(inbox)
    Ticket.objects.filter(pk=first.ticket.pk).update(
        status=Status.SOLVED, solved_at=timezone.now() - timedelta(days=2)
    )

    again = receive(inbox)

    assert again.ticket.pk == first.ticket.pk and again.reopened
    assert again.ticket.status == Status.OPEN
    assert TimelineEvent.objects.filter(ticket=first.ticket, kind=EventKind.REOPENED).exists()


def test_it_starts_a_linked_ticket_after_the_window(inbox, receive, settings):
    settings.REOPEN_WINDOW_DAYS = 7
    first = receive(inbox)
    Ticket.objects.filter(pk=first.ticket.pk).update(
        status=Status.SOLVED, solved_at=timezone.now() - timedelta(days=8)
    )

    later = receive(inbox)

    assert later.ticket.pk != first.ticket.pk and later.ticket_created
    assert later.ticket.follows_id == first.ticket.pk


def test_it_keeps_one_customer_across_inboxes(inbox, other_inbox, receive):
    a = receive(inbox)
    b = receive(other_inbox)

    assert a.ticket.customer_id == b.ticket.customer_id
    assert a.ticket.pk != b.ticket.pk  # a ticket belongs to one inbox


def test_it_sanitizes_html(inbox, receive):
    result = receive(inbox, text="", html='<p onclick="x()">Hi<script>alert(1)</script></p>')

    assert "<script" not in result.message.body_html
    assert "onclick" not in result.message.body_html
    assert result.message.body_text == "Hi"


def test_it_emits_message_received_after_commit(inbox, receive):
    seen = []
    handler = subscribe(MessageReceived)(seen.append)
    try:
        result = receive(inbox)
    finally:
        from tickets import events

        events._handlers[MessageReceived].remove(handler)

    assert [e.message_id for e in seen] == [result.message.pk]
    assert seen[0].ticket_created


def test_it_refuses_a_message_without_provider_id(inbox):
    with pytest.raises(IngestError):
        ingest(
            InboundMessage(
                inbox_id=inbox.pk,
                channel="test",
                sender=SenderIdentity(kind="test", value="x"),
                external_id="",
                text="hi",
            )
        )
    assert Message.objects.count() == 0


def test_an_answer_lands_where_the_agent_continued_the_conversation(db, team, agent, receive):
    from channels_in.inboxes import create_inbox
    from tickets.replies import record_reply

    email = create_inbox(channel="email", name="Mail", team=team)
    sms = create_inbox(channel="sms", name="SMS", team=team)
    first = receive(email, sender="kasia@example.pl", kind="email")
    from tickets.merge import link_identity

    link_identity(customer=first.ticket.customer, kind="phone", value="+48601234567")
    record_reply(
        ticket=first.ticket, author=agent, text="Numer przesyłki wyślę SMS-em.", channel="sms"
    )

    answer = receive(sms, sender="+48601234567", kind="phone", text="Dziękuję!")

    assert answer.ticket.pk == first.ticket.pk
    assert answer.ticket.last_channel == "sms"


def test_it_stores_attachments_under_safe_names(inbox, receive):
    from tickets.ingest import InboundAttachment

    result = receive(
        inbox,
        attachments=(
            InboundAttachment("../../etc/passwd", "text/plain", b"root:x"),
            InboundAttachment("zdjęcie\x00 paragonu.jpg", "image/jpeg", b"\xff\xd8\xff"),
        ),
    )

    names = sorted(a.filename for a in result.message.attachments.all())
    assert names == ["passwd", "zdjęcie paragonu.jpg"]
    stored = result.message.attachments.get(filename="passwd")
    assert stored.size == 6 and stored.file.read() == b"root:x"
    assert ".." not in stored.file.name
