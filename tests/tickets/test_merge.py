import pytest

from tickets.changes import ChangeError, update_ticket
from tickets.merge import MergeError, link_identity, merge_customers, merge_tickets, split_ticket
from tickets.models import Customer, EventKind, Identity, Message, Status, Ticket, TimelineEvent
from tickets.replies import ReplyError, record_reply
from tickets.timeline import timeline_page

pytestmark = pytest.mark.django_db


def test_merging_customers_moves_everything_and_is_recorded(inbox, other_inbox, receive):
    a = receive(inbox, sender="kasia@example.pl").ticket.customer
    Customer.objects.filter(pk=a.pk).update(attributes={"order": "PL-1", "plan": "Basic"})
    b = receive(other_inbox, sender="+48601234567").ticket.customer
    Customer.objects.filter(pk=b.pk).update(attributes={"plan": "Premium", "crm": "42"})
    a.refresh_from_db(), b.refresh_from_db()

    merge_customers(source=b, target=a)

    a.refresh_from_db(), b.refresh_from_db()
    assert b.merged_into_id == a.pk
    assert set(Identity.objects.filter(customer=a).values_list("value", flat=True)) == {
        "kasia@example.pl",
        "+48601234567",
    }
    assert Ticket.objects.filter(customer=a).count() == 2
    assert a.attributes == {"order": "PL-1", "plan": "Basic", "crm": "42"}
    event = TimelineEvent.objects.get(customer=a, kind=EventKind.CUSTOMER_MERGED)
    assert event.data["attribute_conflicts"] == {"plan": "Premium"}
    # The whole history is one timeline now, and new messages find the survivor.
    assert len(timeline_page(customer_id=a.pk).events) == TimelineEvent.objects.count()
    assert receive(other_inbox, sender="+48601234567").ticket.customer_id == a.pk


def test_a_customer_cannot_be_merged_twice_or_into_itself(inbox, receive):
    a = receive(inbox, sender="a@example.com").ticket.customer
    b = receive(inbox, sender="b@example.com").ticket.customer
    with pytest.raises(MergeError):
        merge_customers(source=a, target=a)
    merge_customers(source=b, target=a)
    with pytest.raises(MergeError):
        merge_customers(source=b, target=a)


def test_linking_an_identity_of_another_customer_is_refused(inbox, receive):
    a = receive(inbox, sender="a@example.com").ticket.customer
    receive(inbox, sender="b@example.com")

    with pytest.raises(MergeError, match="merge the customers"):
        link_identity(customer=a, kind="test", value="b@example.com")
    assert link_identity(customer=a, kind="phone", value="+420601111222").customer_id == a.pk


def test_merging_tickets_moves_messages_and_closes_the_source(inbox, other_inbox, receive):
    first = receive(inbox, text="one").ticket
    second = receive(other_inbox, text="two").ticket

    merge_tickets(source=second, target=first)

    second.refresh_from_db()
    assert second.merged_into_id == first.pk and second.status == Status.CLOSED
    assert list(Message.objects.filter(ticket=first).values_list("body_text", flat=True)) == [
        "one",
        "two",
    ]
    assert TimelineEvent.objects.filter(ticket=first, kind=EventKind.TICKET_MERGED).exists()
    # A hint to the merged ticket's message now threads into the survivor.
    follow_up = receive(
        other_inbox, thread_hints=(Message.objects.get(body_text="two").external_id,)
    )
    assert follow_up.ticket.pk == first.pk


def test_tickets_of_different_customers_cannot_be_merged(inbox, receive):
    a = receive(inbox, sender="a@example.com").ticket
    b = receive(inbox, sender="b@example.com").ticket
    with pytest.raises(MergeError):
        merge_tickets(source=a, target=b)


def test_split_moves_chosen_messages_to_a_new_linked_ticket(inbox, receive):
    ticket = receive(inbox, text="order question").ticket
    other = receive(inbox, text="and an unrelated invoice question").message

    new = split_ticket(ticket=ticket, message_ids=[other.pk])

    assert new.follows_id == ticket.pk and new.customer_id == ticket.customer_id
    assert list(new.messages.values_list("pk", flat=True)) == [other.pk]
    assert ticket.messages.count() == 1
    with pytest.raises(MergeError):
        split_ticket(ticket=ticket, message_ids=list(ticket.messages.values_list("pk", flat=True)))


def test_changes_are_recorded_and_invalid_ones_change_nothing(inbox, agent, receive):
    ticket = receive(inbox).ticket

    update_ticket(
        ticket=ticket,
        actor=agent,
        status="pending",
        priority=3,
        assignee=agent,
        tags=["Faktura", "vip"],
    )

    ticket.refresh_from_db()
    assert (ticket.status, ticket.priority, ticket.assignee_id) == ("pending", 3, agent.pk)
    assert sorted(ticket.tags.values_list("name", flat=True)) == ["faktura", "vip"]
    kinds = set(TimelineEvent.objects.filter(ticket=ticket).values_list("kind", flat=True))
    assert {EventKind.STATUS, EventKind.PRIORITY, EventKind.ASSIGNEE, EventKind.TAGS} <= kinds
    with pytest.raises(ChangeError):
        update_ticket(ticket=ticket, actor=agent, status="nonsense", priority=1)
    ticket.refresh_from_db()
    assert ticket.priority == 3


def test_a_reply_to_a_channel_the_customer_cannot_be_reached_on_is_refused(inbox, agent, receive):
    ticket = receive(inbox).ticket
    with pytest.raises(ReplyError, match="no SMS contact"):
        record_reply(ticket=ticket, author=agent, text="Hi", channel="sms")
    with pytest.raises(ReplyError):
        record_reply(ticket=ticket, author=agent, text="   ")
    assert not Message.objects.filter(direction="out").exists()


def test_the_timeline_pages_newest_first_without_gaps(inbox, receive):
    customer = None
    for i in range(7):
        customer = receive(inbox, text=f"message {i}").ticket.customer
    ids = []
    page = timeline_page(customer_id=customer.pk, limit=3)
    while True:
        ids += [e.pk for e in page.events]
        if page.next_before is None:
            break
        page = timeline_page(customer_id=customer.pk, before=page.next_before, limit=3)
    assert ids == sorted(TimelineEvent.objects.values_list("pk", flat=True), reverse=True)
