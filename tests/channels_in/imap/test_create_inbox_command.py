"""`manage.py create_inbox email … --imap-*`: an inbox that polls a real mailbox."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import CommandError, call_command

from channels_in.email.imap import poll_mailbox
from tickets.models import Inbox, Message

pytestmark = pytest.mark.django_db


def create(*args) -> dict:
    out = io.StringIO()
    call_command("create_inbox", *args, stdout=out)
    return json.loads(out.getvalue())


def test_it_creates_an_email_inbox_that_polls_imap(imap_account, new_mail):
    printed = create(
        "email",
        "--name", "Support",
        "--address", "support@helpdesk.example",
        "--imap-host", imap_account.server.host,
        "--imap-port", str(imap_account.server.port),
        "--imap-security", "none",
        "--imap-user", imap_account.username,
        "--imap-password", imap_account.password,
    )  # fmt: skip

    # The documented output, unchanged; the password typed in is not echoed.
    assert set(printed) == {"id", "key", "channel", "webhook_url", "secrets"}
    assert set(printed["secrets"]) == {"token"}
    assert imap_account.password not in json.dumps(printed)
    inbox = Inbox.objects.get(pk=printed["id"])
    assert inbox.config["address"] == "support@helpdesk.example"
    assert inbox.config["imap"]["username"] == imap_account.username
    assert inbox.secrets["imap_password"] == imap_account.password

    imap_account.deliver(new_mail(message_id="<via-command@example.com>"))
    assert poll_mailbox(inbox.pk).state == "ok"
    assert Message.objects.filter(external_id="via-command@example.com").exists()


def test_it_creates_a_webhook_only_email_inbox_as_before():
    printed = create("email", "--name", "Webhook")

    assert set(printed["secrets"]) == {"token"}
    assert Inbox.objects.get(pk=printed["id"]).config == {}


@pytest.mark.parametrize(
    "args",
    [
        ["email", "--name", "X", "--imap-host", "imap.example.com"],  # no user or password
        ["email", "--name", "X", "--imap-user", "someone"],  # no host
        ["sms", "--name", "X", "--imap-host", "imap.example.com"],  # not an email inbox
    ],
)
def test_it_refuses_incomplete_imap_settings(args):
    with pytest.raises(CommandError):
        create(*args)
    assert not Inbox.objects.exists()
