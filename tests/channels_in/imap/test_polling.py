"""IMAP polling against a real dovecot: what arrives, once, and what happens to it on the server."""

from __future__ import annotations

import socket
from datetime import timedelta

import pytest
from django.utils import timezone

from channels_in.email.imap import (
    claim_due_mailboxes,
    lease_mailbox,
    lease_seconds,
    poll_mailbox,
    release_mailbox,
)
from channels_in.inboxes import create_inbox
from channels_in.models import Mailbox, RawInbound
from channels_in.tasks import poll_mailboxes
from tests.servers import free_port
from tickets.models import Channel, Message

pytestmark = pytest.mark.django_db


def mailbox_of(inbox) -> Mailbox:
    return Mailbox.objects.get(inbox=inbox)


def messages_with(message_id: str) -> int:
    return Message.objects.filter(external_id=message_id.strip("<>")).count()


def seconds_until(moment) -> float:
    return (moment - timezone.now()).total_seconds()


# --- Fetching -----------------------------------------------------------------------------


def test_it_turns_new_mail_into_a_ticket_exactly_once(imap_account, make_imap_inbox, new_mail):
    inbox = make_imap_inbox(imap_account)
    raw = new_mail(message_id="<order-1234@mail.example.com>", subject="Order 1234")
    imap_account.deliver(raw)

    first = poll_mailbox(inbox.pk)
    again = poll_mailbox(inbox.pk)

    assert (first.state, first.fetched, first.stored) == ("ok", 1, 1)
    assert (again.state, again.fetched) == ("ok", 0)
    message = Message.objects.select_related("ticket").get()
    assert message.external_id == "order-1234@mail.example.com"
    assert message.ticket.subject == "Order 1234"
    assert message.inbox_id == inbox.pk
    stored = RawInbound.objects.get()
    # The exact bytes the server holds, not a re-serialisation of a parsed copy.
    assert bytes(stored.body) == raw
    assert stored.state == RawInbound.State.PROCESSED
    assert stored.meta["source"] == "imap" and stored.meta["uid"] == 1
    state = mailbox_of(inbox)
    assert state.last_uid == 1 and state.failures == 0 and state.last_success_at


def test_it_moves_processed_mail_to_the_processed_folder(imap_account, make_imap_inbox, new_mail):
    inbox = make_imap_inbox(imap_account, processed="move", processed_folder="Helpdesk")
    imap_account.deliver(new_mail(message_id="<move-1@example.com>"))
    imap_account.deliver(new_mail(message_id="<move-2@example.com>", sender="eva@example.com"))

    result = poll_mailbox(inbox.pk)

    assert result.stored == 2
    assert imap_account.message_ids("INBOX") == []
    assert imap_account.message_ids("Helpdesk") == ["<move-1@example.com>", "<move-2@example.com>"]
    assert messages_with("move-1@example.com") == messages_with("move-2@example.com") == 1


@pytest.mark.parametrize("flag", ["\\Seen", "\\Flagged"])
def test_it_flags_processed_mail_when_configured(imap_account, make_imap_inbox, new_mail, flag):
    inbox = make_imap_inbox(imap_account, processed="flag", processed_flag=flag)
    imap_account.deliver(new_mail(message_id="<flag-1@example.com>"))

    poll_mailbox(inbox.pk)

    assert imap_account.message_ids("INBOX") == ["<flag-1@example.com>"]
    assert flag in imap_account.flags("INBOX")[0]
    assert imap_account.message_ids("Processed") == []
    # Left in place, it is still fetched only once.
    assert poll_mailbox(inbox.pk).fetched == 0
    assert messages_with("flag-1@example.com") == 1


def test_flagging_leaves_mail_another_client_deleted_for_that_client_to_expunge(
    imap_account, make_imap_inbox, new_mail
):
    inbox = make_imap_inbox(imap_account, processed="flag")
    imap_account.deliver(new_mail(message_id="<read-1@example.com>"))
    poll_mailbox(inbox.pk)
    with imap_account.connect() as mailbox:  # an agent's mail client deletes it, not yet expunged
        mailbox.client.uid("STORE", "1", "+FLAGS", "(\\Deleted)")
    imap_account.deliver(new_mail(message_id="<read-2@example.com>", sender="eva@example.com"))

    assert poll_mailbox(inbox.pk).stored == 1

    assert imap_account.message_ids("INBOX") == ["<read-1@example.com>", "<read-2@example.com>"]


def test_it_fetches_mail_added_between_polls_and_none_twice(
    imap_account, make_imap_inbox, new_mail
):
    inbox = make_imap_inbox(imap_account, processed="flag")
    imap_account.deliver(new_mail(message_id="<uid-1@example.com>", sender="a@example.com"))
    imap_account.deliver(new_mail(message_id="<uid-2@example.com>", sender="b@example.com"))
    first = poll_mailbox(inbox.pk)
    imap_account.deliver(new_mail(message_id="<uid-3@example.com>", sender="c@example.com"))
    second = poll_mailbox(inbox.pk)
    third = poll_mailbox(inbox.pk)

    assert [first.fetched, second.fetched, third.fetched] == [2, 1, 0]
    assert [r.duplicates for r in (first, second, third)] == [0, 0, 0]
    assert mailbox_of(inbox).last_uid == 3
    for n in (1, 2, 3):
        assert messages_with(f"uid-{n}@example.com") == 1
    assert RawInbound.objects.count() == 3


def test_a_new_uidvalidity_reads_the_folder_again_without_duplicates(
    imap_account, make_imap_inbox, new_mail
):
    inbox = make_imap_inbox(imap_account, folder="Support", processed="flag")
    first_mail = new_mail(message_id="<uv-1@example.com>", sender="a@example.com")
    imap_account.deliver(first_mail, folder="Support")
    imap_account.deliver(
        new_mail(message_id="<uv-2@example.com>", sender="b@example.com"), "Support"
    )
    poll_mailbox(inbox.pk)
    before = mailbox_of(inbox)

    # The folder is rebuilt (a migration, a restore): UIDs start at 1 again, so
    # the new mail's UID is one we already passed under the old UIDVALIDITY.
    imap_account.recreate("Support")
    imap_account.deliver(first_mail, folder="Support")
    imap_account.deliver(
        new_mail(message_id="<uv-3@example.com>", sender="c@example.com"), "Support"
    )
    result = poll_mailbox(inbox.pk)

    after = mailbox_of(inbox)
    assert after.uidvalidity != before.uidvalidity
    assert (result.fetched, result.stored, result.duplicates) == (2, 1, 1)
    assert after.last_uid == 2
    for n in (1, 2, 3):
        assert messages_with(f"uv-{n}@example.com") == 1


@pytest.mark.parametrize("first_path", ["webhook", "imap"])
def test_the_same_mail_by_imap_and_by_webhook_is_stored_once(
    imap_account, make_imap_inbox, new_mail, post_email, first_path
):
    inbox = make_imap_inbox(imap_account)
    raw = new_mail(message_id="<both-ways@example.com>")
    imap_account.deliver(raw)

    if first_path == "webhook":
        assert post_email(inbox, raw).status_code == 202
        result = poll_mailbox(inbox.pk)
        assert (result.fetched, result.stored, result.duplicates) == (1, 0, 1)
    else:
        assert poll_mailbox(inbox.pk).stored == 1
        response = post_email(inbox, raw)
        assert response.status_code == 200 and response.json()["duplicate"] is True

    assert RawInbound.objects.count() == 1
    assert messages_with("both-ways@example.com") == 1
    # Either way the mail is done on the server too.
    assert imap_account.message_ids("Processed") == ["<both-ways@example.com>"]


def test_a_large_backlog_is_read_over_several_polls(
    imap_account, make_imap_inbox, new_mail, settings
):
    settings.IMAP_POLL_LIMIT = 2
    inbox = make_imap_inbox(imap_account)
    for n in range(1, 6):
        imap_account.deliver(new_mail(message_id=f"<bulk-{n}@example.com>", sender=f"{n}@ex.com"))

    first = poll_mailbox(inbox.pk)

    assert (first.fetched, first.more) == (2, True)
    # Still mail waiting: the mailbox is due again at once, not in a minute.
    assert mailbox_of(inbox).next_poll_at <= timezone.now()
    assert [poll_mailbox(inbox.pk).fetched for _ in range(3)] == [2, 1, 0]
    assert Message.objects.count() == 5


# --- Failures -----------------------------------------------------------------------------


def test_a_wrong_password_is_reported_and_other_inboxes_are_still_polled(
    imap_account, dovecot, make_imap_inbox, new_mail, settings
):
    healthy_account = dovecot.add_account()
    broken = make_imap_inbox(imap_account, password="wrong-password-123")
    healthy = make_imap_inbox(healthy_account)
    imap_account.deliver(new_mail(message_id="<to-broken@example.com>"))
    healthy_account.deliver(new_mail(message_id="<to-healthy@example.com>"))

    assert poll_mailboxes.delay().get() == 2

    state = mailbox_of(broken)
    assert state.failures == 1
    assert "refused the login" in state.last_error
    assert imap_account.username in state.last_error
    assert "wrong-password-123" not in state.last_error
    assert "AUTHENTICATIONFAILED" in state.last_error  # what the server said
    assert seconds_until(state.next_poll_at) > settings.IMAP_POLL_SECONDS
    assert messages_with("to-broken@example.com") == 0
    assert imap_account.message_ids("INBOX") == ["<to-broken@example.com>"]

    assert messages_with("to-healthy@example.com") == 1
    assert mailbox_of(healthy).failures == 0
    # Not due again until its backoff has passed; the healthy one after a minute.
    assert claim_due_mailboxes() == []


def test_a_server_that_is_down_is_reported(imap_account, make_imap_inbox):
    closed_port = free_port()
    inbox = make_imap_inbox(imap_account, port=closed_port)

    result = poll_mailbox(inbox.pk)

    state = mailbox_of(inbox)
    assert result.state == "failed"
    assert state.failures == 1
    assert state.last_error == (f"Nothing answers at 127.0.0.1:{closed_port} (connection refused).")


def test_a_server_that_does_not_answer_is_reported_after_the_timeout(
    imap_account, make_imap_inbox, settings
):
    settings.IMAP_TIMEOUT_SECONDS = 1
    # A port that accepts connections and then says nothing (a hung server).
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        inbox = make_imap_inbox(imap_account, port=silent.getsockname()[1])

        result = poll_mailbox(inbox.pk)

    assert result.state == "failed"
    assert "did not answer within 1 seconds" in mailbox_of(inbox).last_error


def test_a_missing_folder_is_reported(imap_account, make_imap_inbox):
    inbox = make_imap_inbox(imap_account, folder="Archive/Support")

    poll_mailbox(inbox.pk)

    state = mailbox_of(inbox)
    assert state.failures == 1
    assert state.last_error.startswith("The folder “Archive/Support” could not be opened:")


@pytest.mark.parametrize("security", ["ssl", "starttls"])
def test_it_reads_mail_over_tls(
    imap_account, dovecot, make_imap_inbox, new_mail, monkeypatch, security
):
    # The system trust store, pointed at the test server's certificate.
    monkeypatch.setenv("SSL_CERT_FILE", str(dovecot.cert))
    port = dovecot.ssl_port if security == "ssl" else dovecot.port
    inbox = make_imap_inbox(imap_account, security=security, port=port)
    imap_account.deliver(new_mail(message_id=f"<over-{security}@example.com>"))

    result = poll_mailbox(inbox.pk)

    assert (result.state, result.stored) == ("ok", 1)
    assert messages_with(f"over-{security}@example.com") == 1


@pytest.mark.parametrize("security", ["ssl", "starttls"])
def test_a_certificate_we_cannot_verify_is_reported(
    imap_account, dovecot, make_imap_inbox, new_mail, monkeypatch, security
):
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    port = dovecot.ssl_port if security == "ssl" else dovecot.port
    inbox = make_imap_inbox(imap_account, security=security, port=port)
    imap_account.deliver(new_mail(message_id="<not-over-tls@example.com>"))

    result = poll_mailbox(inbox.pk)

    assert result.state == "failed"
    error = mailbox_of(inbox).last_error
    assert error.startswith("The certificate of 127.0.0.1 could not be verified: self")
    assert messages_with("not-over-tls@example.com") == 0


def test_backoff_grows_with_each_failure_and_resets_after_success(
    imap_account, make_imap_inbox, new_mail, settings
):
    settings.IMAP_POLL_SECONDS = 60
    settings.IMAP_MAX_BACKOFF_SECONDS = 300
    inbox = make_imap_inbox(imap_account, password="not-the-password")
    imap_account.deliver(new_mail(message_id="<after-fix@example.com>"))

    waits = []
    for _ in range(4):
        poll_mailbox(inbox.pk)
        waits.append(round(seconds_until(mailbox_of(inbox).next_poll_at), -1))

    assert waits == [120, 240, 300, 300]
    assert mailbox_of(inbox).failures == 4
    # Due again once the wait is over (the beat does the retrying).
    later = mailbox_of(inbox).next_poll_at + timedelta(seconds=1)
    assert claim_due_mailboxes(now=later) == [inbox.pk]

    # An admin corrects the password.
    inbox.secrets["imap_password"] = imap_account.password
    inbox.save(update_fields=["secrets"])
    result = poll_mailbox(inbox.pk)

    state = mailbox_of(inbox)
    assert result.state == "ok"
    assert (state.failures, state.last_error) == (0, "")
    assert round(seconds_until(state.next_poll_at), -1) == 60
    assert messages_with("after-fix@example.com") == 1


# --- Leases and scheduling ---------------------------------------------------------------


def test_a_poll_of_a_mailbox_another_poll_holds_is_skipped(imap_account, make_imap_inbox, new_mail):
    inbox = make_imap_inbox(imap_account)
    imap_account.deliver(new_mail(message_id="<held@example.com>"))
    lease = lease_mailbox(inbox.pk)  # another worker is polling this inbox

    result = poll_mailbox(inbox.pk)

    assert result.state == "skipped"
    assert Message.objects.count() == 0
    assert imap_account.message_ids("INBOX") == ["<held@example.com>"]
    assert claim_due_mailboxes() == []  # nor is it queued while held

    release_mailbox(inbox.pk, lease)
    assert poll_mailbox(inbox.pk).stored == 1


def test_the_lease_of_a_poll_that_crashed_expires(imap_account, make_imap_inbox, new_mail):
    inbox = make_imap_inbox(imap_account)
    imap_account.deliver(new_mail(message_id="<after-crash@example.com>"))
    # A poll started long ago and never finished (the worker was killed).
    long_ago = timezone.now() - timedelta(seconds=lease_seconds() + 1)
    assert lease_mailbox(inbox.pk, now=long_ago) is not None

    result = poll_mailbox(inbox.pk)

    assert result.state == "ok" and result.stored == 1
    assert mailbox_of(inbox).leased_until is None


def test_only_active_inboxes_with_imap_settings_are_polled(
    imap_account, make_imap_inbox, email_inbox, team
):
    polled = make_imap_inbox(imap_account)
    paused = make_imap_inbox(imap_account, name="Paused")
    paused.is_active = False
    paused.save(update_fields=["is_active"])
    create_inbox(channel=Channel.SMS, name="SMS", team=team)

    assert claim_due_mailboxes() == [polled.pk]
    # Claimed: the next beat does not queue it again while its task waits.
    assert claim_due_mailboxes() == []
    assert poll_mailbox(paused.pk).state == "skipped"
    assert poll_mailbox(email_inbox.pk).state == "skipped"  # webhook-only email inbox
    assert not Mailbox.objects.filter(inbox__in=[paused, email_inbox]).exists()
