"""POST /inbound/email/<key>/: every status of the contract, and nothing stored on refusal."""

from __future__ import annotations

import pytest
from django.db import connection

from channels_in.models import RawInbound
from tickets.models import Message, Ticket

from .mails import mail


@pytest.mark.parametrize(
    ("case", "status", "error"),
    [
        ("ok", 202, None),
        ("wrong_token", 403, "forbidden"),
        ("no_token", 403, "forbidden"),
        ("empty", 400, "bad_request"),
        ("too_large", 413, "too_large"),
        ("unknown_key", 404, "unknown_inbox"),
    ],
)
def test_it_answers_each_case_as_the_contract_says(
    case, status, error, client, email_inbox, settings
):
    raw = mail()
    headers = {"HTTP_AUTHORIZATION": f"Bearer {email_inbox.secrets['token']}"}
    key = email_inbox.key
    if case == "wrong_token":
        headers["HTTP_AUTHORIZATION"] = "Bearer nope"
    elif case == "no_token":
        headers = {}
    elif case == "empty":
        raw = b""
    elif case == "too_large":
        settings.INBOUND_MAX_BYTES = 1000
        raw = mail(text="x" * 5000)
    elif case == "unknown_key":
        key = "no-such-inbox"
    response = client.post(
        f"/inbound/email/{key}/", data=raw, content_type="message/rfc822", **headers
    )
    assert response.status_code == status
    body = response.json()
    if error:
        assert body["error"] == error and body["detail"]
        assert not RawInbound.objects.exists() and not Message.objects.exists()
    else:
        assert body == {
            "message": Message.objects.get().pk,
            "ticket": Ticket.objects.get().pk,
            "duplicate": False,
        }


def test_it_stores_the_same_message_id_once(email_inbox, post_email):
    raw = mail(message_id="once@example.pl")
    first = post_email(email_inbox, raw)
    again = post_email(email_inbox, raw)
    assert first.status_code == 202
    assert again.status_code == 200 and again.json()["duplicate"] is True
    assert again.json()["message"] == first.json()["message"]
    assert Message.objects.count() == 1 and RawInbound.objects.count() == 1


def test_it_keeps_bytes_it_cannot_read_and_says_so(email_inbox, post_email):
    response = post_email(email_inbox, b"\x00\x01 this is not an email at all \xff\xfe")
    assert response.status_code == 202
    assert response.json() == {"message": None, "ticket": None, "duplicate": False}
    raw = RawInbound.objects.get()
    assert raw.state == RawInbound.State.FAILED
    assert "no sender" in raw.error or "no headers" in raw.error
    assert not Message.objects.exists()


def test_it_answers_503_and_keeps_nothing_when_the_database_fails(email_inbox, post_email):
    # A real failure, not a mock: the table raw mail goes to is gone.
    with connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE {RawInbound._meta.db_table} RENAME TO raw_away")
    try:
        response = post_email(email_inbox, mail())
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"ALTER TABLE raw_away RENAME TO {RawInbound._meta.db_table}")
    assert response.status_code == 503
    assert response.json()["error"] == "unavailable"
    assert not Message.objects.exists()


def test_the_storage_key_is_the_message_id_the_parser_reads_for_every_corpus_mail():
    """The raw mail and the message are deduplicated by the same id."""
    from pathlib import Path

    from channels_in.email.parse import UnparseableEmailError, parse_email
    from channels_in.email.receive import provider_key

    mails = sorted((Path(__file__).parents[1] / "email_corpus" / "mails").glob("*.eml"))
    assert len(mails) >= 60
    for path in mails:
        raw = path.read_bytes()
        try:
            parsed = parse_email(raw, max_attachment_bytes=10**8)
        except UnparseableEmailError:
            continue
        if parsed.message_id:
            assert provider_key(raw) == parsed.message_id, path.name
        else:
            assert provider_key(raw).startswith("sha256:"), path.name
