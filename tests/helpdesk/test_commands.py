import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from tickets.models import Customer, Identity, Inbox, Message, Ticket, TimelineEvent

pytestmark = pytest.mark.django_db


def run(*args):
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_create_agent_prints_json_with_a_working_token(client):
    printed = json.loads(
        run(
            "create_agent",
            "ewa@example.pl",
            "--password",
            "long-enough",
            "--role",
            "manager",
            "--team",
            "Wsparcie",
        )
    )

    assert printed["email"] == "ewa@example.pl" and printed["role"] == "manager"
    assert client.login(username="ewa@example.pl", password="long-enough")


def test_create_agent_refuses_bad_input_clearly():
    with pytest.raises(CommandError, match="not an email"):
        run("create_agent", "not-an-email", "--password", "long-enough")
    with pytest.raises(CommandError, match="8 characters"):
        run("create_agent", "a@example.com", "--password", "short")


@pytest.mark.parametrize(
    "channel, secret_names",
    [
        ("email", {"token"}),
        ("sms", {"auth_token"}),
        ("messenger", {"app_secret", "verify_token"}),
        ("widget", {"identity_secret"}),
    ],
)
def test_create_inbox_prints_key_url_and_the_provider_secrets(channel, secret_names):
    printed = json.loads(run("create_inbox", channel, "--name", "Obsługa"))

    inbox = Inbox.objects.get(pk=printed["id"])
    assert printed["key"] == inbox.key and printed["channel"] == channel
    assert set(printed["secrets"]) == secret_names
    assert inbox.key in printed["webhook_url"]
    assert all(inbox.key not in value for value in printed["secrets"].values())
    assert inbox.key not in repr(inbox) and "secret" not in repr(inbox)


def test_seed_demo_spans_every_channel_and_is_idempotent():
    run("seed_demo")
    counts = (
        Customer.objects.count(),
        Ticket.objects.count(),
        Message.objects.count(),
        TimelineEvent.objects.count(),
        Identity.objects.count(),
    )
    run("seed_demo")

    assert counts == (
        Customer.objects.count(),
        Ticket.objects.count(),
        Message.objects.count(),
        TimelineEvent.objects.count(),
        Identity.objects.count(),
    )
    channels = set(Message.objects.values_list("channel", flat=True))
    assert {"email", "widget", "sms", "messenger"} <= channels
    # Someone whose history crosses channels, in one timeline.
    kasia = Customer.objects.get(name="Katarzyna Wiśniewska")
    assert {"email", "sms", "widget"} <= set(
        Message.objects.filter(ticket__customer=kasia).values_list("channel", flat=True)
    )
    assert {c.locale for c in Customer.objects.all()} == {"en", "pl", "cs"}


def test_healthz_reports_each_part(client):
    body = client.get("/healthz").json()

    assert body["database"] == "ok"
    assert set(body) >= {"status", "database", "channel_layer", "queue"}
