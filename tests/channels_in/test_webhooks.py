import json
from datetime import UTC, datetime

import pytest
import time_machine
from django.db import connection

from channels_in.models import RawInbound
from tickets.models import Message

pytestmark = pytest.mark.django_db(transaction=True)


def post(client, inbox, payload, token=None, **extra):
    token = inbox.secrets["token"] if token is None else token
    body = payload if isinstance(payload, (bytes, str)) else json.dumps(payload)
    return client.post(
        f"/inbound/test/{inbox.key}/",
        data=body,
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
        **extra,
    )


GOOD = {"id": "msg-1", "from": "jan@example.com", "name": "Jan", "text": "Dzień dobry"}


@pytest.mark.parametrize(
    "case, payload, token, status, error",
    [
        ("accepted", GOOD, None, 202, None),
        ("wrong token", GOOD, "nope", 403, "forbidden"),
        ("no token", GOOD, "", 403, "forbidden"),
        ("not json", b"{oops", None, 400, "malformed"),
        ("empty body", b"", None, 400, "bad_request"),
        ("no id", {"from": "a@b.c", "text": "x"}, None, 400, "malformed"),
        ("no text", {"id": "x", "from": "a@b.c"}, None, 400, "malformed"),
        ("a list", [1, 2], None, 400, "malformed"),
    ],
)
def test_it_answers_each_case_with_the_contracted_status(
    client, inbox, case, payload, token, status, error
):
    response = post(client, inbox, payload, token)

    assert response.status_code == status, case
    body = response.json()
    if error:
        assert body["error"] == error and body["detail"]
        assert RawInbound.objects.count() == 0 and Message.objects.count() == 0
    else:
        assert body["duplicate"] is False
        assert Message.objects.get(pk=body["message"]).ticket_id == body["ticket"]


def test_it_refuses_a_body_over_the_limit_and_stores_nothing(client, inbox, settings):
    settings.INBOUND_MAX_BYTES = 100
    response = post(client, inbox, {**GOOD, "text": "x" * 200})

    assert response.status_code == 413
    assert response.json()["error"] == "too_large"
    assert RawInbound.objects.count() == 0


def test_it_answers_404_for_an_unknown_inbox(client, inbox):
    response = client.post("/inbound/test/no-such-key/", data="{}", content_type="application/json")

    assert response.status_code == 404
    assert response.json()["error"] == "unknown_inbox"


def test_a_replay_answers_200_and_stores_nothing_new(client, inbox):
    first = post(client, inbox, GOOD)
    again = post(client, inbox, GOOD)

    assert first.status_code == 202 and again.status_code == 200
    assert again.json() == {**first.json(), "duplicate": True}
    assert RawInbound.objects.count() == 1 and Message.objects.count() == 1


def test_it_answers_503_when_the_database_cannot_take_the_message(client, inbox):
    # A real failure, not a mock: the table the raw payload goes to is gone.
    with connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE {RawInbound._meta.db_table} RENAME TO raw_away")
    try:
        response = post(client, inbox, GOOD)
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"ALTER TABLE raw_away RENAME TO {RawInbound._meta.db_table}")

    assert response.status_code == 503
    assert response.json()["error"] == "unavailable"
    assert Message.objects.count() == 0


def test_a_payload_that_fails_to_process_stays_stored_and_can_be_replayed(inbox):
    from channels_in.base import Accepted
    from channels_in.pipeline import process_raw, replay, store_raw

    stored = store_raw(
        inbox=inbox,
        accepted=Accepted(provider_key="later", body=json.dumps({**GOOD, "id": "later"}).encode()),
    )
    # The inbox is switched off between storing and processing: ingest refuses.
    inbox.is_active = False
    inbox.save()

    assert process_raw(stored.raw.pk) is None
    stored.raw.refresh_from_db()
    assert stored.raw.state == RawInbound.State.FAILED
    assert "not active" in stored.raw.error
    assert Message.objects.count() == 0

    inbox.is_active = True
    inbox.save()
    assert replay([stored.raw.pk]) == 1
    stored.raw.refresh_from_db()
    assert stored.raw.state == RawInbound.State.PROCESSED
    assert Message.objects.get(pk=stored.raw.message_id).body_text == "Dzień dobry"


def test_the_sweeper_processes_payloads_left_unprocessed(inbox, settings):
    from channels_in.base import Accepted
    from channels_in.pipeline import store_raw
    from channels_in.tasks import sweep_inbound

    settings.INBOUND_SWEEP_AFTER_SECONDS = 0
    # Stored, then the process died before processing it.
    store_raw(
        inbox=inbox,
        accepted=Accepted(
            provider_key="orphan", body=json.dumps({**GOOD, "id": "orphan"}).encode()
        ),
    )

    assert sweep_inbound() == 1
    assert Message.objects.filter(external_id="orphan").count() == 1
    assert sweep_inbound() == 0


def test_a_get_on_a_channel_without_a_handshake_is_405_json(client, inbox):
    response = client.get(f"/inbound/test/{inbox.key}/")

    assert response.status_code == 405
    assert response.json()["error"] == "method_not_allowed"


def test_a_sender_over_its_rate_gets_429_and_nothing_is_stored(client, inbox, settings):
    settings.INBOUND_PER_SENDER_PER_MINUTE = 3
    flood = [{**GOOD, "id": f"flood-{n}", "from": "bot@loop.example"} for n in range(5)]

    # Early in a minute, so the flood cannot straddle two of the limit's windows.
    with time_machine.travel(datetime(2026, 11, 25, 9, 30, 5, tzinfo=UTC), tick=True):
        statuses = [post(client, inbox, payload).status_code for payload in flood]
        other = post(client, inbox, {**GOOD, "id": "calm-1", "from": "calm@example.com"})

    assert statuses == [202, 202, 202, 429, 429]
    assert other.status_code == 202, "one sender's flood does not silence the others"
    assert Message.objects.filter(external_id__startswith="flood-").count() == 3
    assert RawInbound.objects.filter(provider_key__startswith="flood-").count() == 3
