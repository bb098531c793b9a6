import pytest

from channels_in.base import Adapter, DeliveryError, SendResult
from channels_in.registry import _ADAPTERS, register
from channels_in.tasks import send_outbound, sweep_outbound
from tickets.models import Delivery, Message
from tickets.replies import add_note, record_reply

pytestmark = pytest.mark.django_db(transaction=True)


class FlakyTestAdapter(Adapter):
    """A stand-in for a provider beyond our network edge that fails on demand."""

    channel = "test"

    def __init__(self, failures):
        self.failures = list(failures)
        self.sent = []

    def send(self, message):
        if self.failures:
            raise self.failures.pop(0)
        self.sent.append(message.pk)
        return SendResult(external_id=f"provider-{message.pk}")


@pytest.fixture
def provider():
    original = _ADAPTERS["test"]
    adapter = FlakyTestAdapter([])
    register(adapter)
    yield adapter
    register(original)


def test_a_reply_is_sent_once_through_the_channel_adapter(inbox, agent, receive, provider):
    ticket = receive(inbox).ticket

    reply = record_reply(ticket=ticket, author=agent, text="Dzień dobry, już sprawdzam.")

    message = Message.objects.get(pk=reply.message.pk)
    assert message.delivery_state == Delivery.SENT
    assert message.external_id == f"provider-{message.pk}"
    assert provider.sent == [message.pk]
    # The task delivered again (at-least-once queue) sends nothing more.
    assert send_outbound(message.pk) == "skipped"
    assert provider.sent == [message.pk]


def test_the_same_idempotency_key_stores_one_reply(inbox, agent, receive, provider):
    ticket = receive(inbox).ticket

    first = record_reply(ticket=ticket, author=agent, text="Hello", idempotency_key="k-1")
    second = record_reply(ticket=ticket, author=agent, text="Hello", idempotency_key="k-1")

    assert second.duplicate and second.message.pk == first.message.pk
    assert Message.objects.filter(direction="out").count() == 1
    assert provider.sent == [first.message.pk]


def test_a_permanent_failure_is_recorded_with_the_reason(inbox, agent, receive, provider):
    provider.failures = [DeliveryError("invalid number", permanent=True)]
    ticket = receive(inbox).ticket

    reply = record_reply(ticket=ticket, author=agent, text="Hi")

    message = Message.objects.get(pk=reply.message.pk)
    assert message.delivery_state == Delivery.FAILED
    assert message.delivery_error == "invalid number"
    assert provider.sent == []


def test_a_temporary_failure_goes_back_to_pending_for_a_retry(inbox, agent, receive, provider):
    ticket = receive(inbox).ticket
    reply = record_reply(ticket=ticket, author=agent, text="Hi", imported_at=None)
    Message.objects.filter(pk=reply.message.pk).update(delivery_state=Delivery.PENDING)
    provider.failures = [DeliveryError("timeout")]
    retried = []

    state = send_outbound(reply.message.pk, retry=retried.append)

    assert state == Delivery.PENDING and len(retried) == 1
    assert Message.objects.get(pk=reply.message.pk).delivery_state == Delivery.PENDING
    assert send_outbound(reply.message.pk) == Delivery.SENT


def test_a_send_cut_off_midway_becomes_unknown_not_sent_twice(
    inbox, agent, receive, provider, settings
):
    settings.OUTBOUND_STUCK_AFTER_SECONDS = 0
    ticket = receive(inbox).ticket
    reply = record_reply(ticket=ticket, author=agent, text="Hi")
    # The worker claimed it and died before hearing back from the provider.
    Message.objects.filter(pk=reply.message.pk).update(delivery_state=Delivery.SENDING)
    sent_before = list(provider.sent)

    sweep_outbound()

    message = Message.objects.get(pk=reply.message.pk)
    assert message.delivery_state == Delivery.UNKNOWN
    assert "check with the customer" in message.delivery_error
    assert provider.sent == sent_before


def test_a_note_is_never_sent(inbox, agent, receive, provider):
    ticket = receive(inbox).ticket
    note = add_note(ticket=ticket, author=agent, text="Klient VIP")

    assert send_outbound(note.pk) == "skipped"
    assert provider.sent == []
