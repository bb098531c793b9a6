"""Parallel deliveries, as providers retry and customers double-send."""

import threading

import pytest
from django.db import connection

from tickets.ingest import InboundMessage, SenderIdentity, ingest
from tickets.models import Customer, Identity, Message, Ticket

pytestmark = pytest.mark.django_db(transaction=True)


def run_in_parallel(count, target):
    barrier = threading.Barrier(count)
    results, errors = [], []

    def worker(i):
        try:
            barrier.wait(timeout=10)
            results.append(target(i))
        except Exception as exc:  # collected and asserted below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return results, errors


def message(inbox, external_id, sender="nowy@example.pl"):
    return InboundMessage(
        inbox_id=inbox.pk,
        channel="test",
        sender=SenderIdentity(kind="test", value=sender),
        external_id=external_id,
        text="Pierwsza wiadomość",
    )


def test_the_same_message_delivered_in_parallel_is_stored_once(inbox):
    results, errors = run_in_parallel(6, lambda i: ingest(message(inbox, "same-id")))

    assert errors == []
    assert Message.objects.count() == 1
    assert sum(not r.duplicate for r in results) == 1
    assert len({r.message.pk for r in results}) == 1


def test_a_new_customer_writing_in_parallel_gets_one_customer_and_one_ticket(inbox):
    results, errors = run_in_parallel(6, lambda i: ingest(message(inbox, f"burst-{i}")))

    assert errors == []
    assert Message.objects.count() == 6
    assert Customer.objects.count() == 1 and Identity.objects.count() == 1
    assert Ticket.objects.count() == 1
