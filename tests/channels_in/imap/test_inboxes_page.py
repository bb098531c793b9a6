"""The inboxes page: how each inbox gets its mail, what fails, and the mail we could not read."""

from __future__ import annotations

import pytest
from django.urls import reverse

from channels_in.email.imap import poll_mailbox
from channels_in.email.receive import store_email
from channels_in.inboxes import create_inbox, webhook_path
from channels_in.models import RawInbound
from channels_in.pipeline import process_raw
from tests.servers import free_port
from tickets.models import Channel

pytestmark = pytest.mark.django_db

PAGE = "/agent/inboxes/"


def unreadable(inbox, n: int, new_mail) -> RawInbound:
    """Mail without a sender, stored and processed as any path would: it fails."""
    raw = new_mail(message_id=f"<nobody-{inbox.pk}-{n}@example.com>", sender=None)
    stored = store_email(inbox=inbox, raw=raw, source="webhook")
    process_raw(stored.raw.pk)
    stored.raw.refresh_from_db()
    return stored.raw


def test_it_shows_a_failing_mailbox_and_the_mail_it_could_not_read(
    client, agent, imap_account, dovecot, make_imap_inbox, new_mail
):
    broken = make_imap_inbox(imap_account, name="Sales", password="wrong")
    working_account = dovecot.add_account()
    working = make_imap_inbox(working_account, name="Support")
    working_account.deliver(new_mail(message_id="<no-sender@example.com>", sender=None))
    poll_mailbox(broken.pk)
    poll_mailbox(working.pk)
    client.force_login(agent)

    response = client.get(PAGE)

    assert response.status_code == 200
    html = response.content.decode()
    assert "Mail polling failing" in html and "Mail polling OK" in html
    assert "The IMAP server refused the login of" in html
    assert "Failures in a row" in html
    assert "Mail we could not read" in html
    assert "the message has no sender address" in html
    failed = RawInbound.objects.get(inbox=working, state=RawInbound.State.FAILED)
    link = reverse("channels_in:raw_mail", args=[working.pk, failed.pk])
    assert f'href="{link}"' in html
    assert webhook_path(broken) in html
    assert 'aria-current="page">Inboxes<' in html  # the nav link

    download = client.get(link)

    assert download.status_code == 200
    assert download["Content-Type"] == "message/rfc822"
    assert download["Content-Disposition"].startswith("attachment;")
    assert ".eml" in download["Content-Disposition"]
    assert download.content == bytes(failed.body)
    assert b"Message-ID: <no-sender@example.com>" in download.content


def test_it_lists_inboxes_of_every_channel(client, agent, email_inbox, widget_inbox):
    sms = create_inbox(channel=Channel.SMS, name="SMS line")
    client.force_login(agent)

    html = client.get(PAGE).content.decode()

    for inbox in (email_inbox, widget_inbox, sms):
        assert inbox.name in html
        assert webhook_path(inbox) in html
    assert "support@helpdesk.example" in html
    # A webhook-only email inbox has no polling state to show.
    assert "Mail polling" not in html


def test_only_agents_see_the_page(client, email_inbox):
    assert client.get(PAGE).status_code == 302  # to the sign-in page


def test_agents_of_another_team_see_the_inbox_but_not_its_mail(
    client, other_agent, manager, email_inbox, new_mail
):
    failed = unreadable(email_inbox, 1, new_mail)
    link = reverse("channels_in:raw_mail", args=[email_inbox.pk, failed.pk])

    client.force_login(other_agent)
    html = client.get(PAGE).content.decode()
    assert email_inbox.name in html
    assert link not in html
    assert client.get(link).status_code == 404

    client.force_login(manager)
    assert link in client.get(PAGE).content.decode()
    assert client.get(link).status_code == 200


def test_a_raw_mail_is_only_found_under_its_own_inbox(client, agent, email_inbox, team, new_mail):
    other = create_inbox(channel=Channel.EMAIL, name="Other", team=team)
    failed = unreadable(email_inbox, 1, new_mail)
    client.force_login(agent)

    wrong = reverse("channels_in:raw_mail", args=[other.pk, failed.pk])

    assert client.get(wrong).status_code == 404


@pytest.mark.parametrize("inboxes", [2, 12])
def test_the_page_query_count_does_not_grow_with_inboxes(
    client,
    manager,
    imap_account,
    make_imap_inbox,
    new_mail,
    django_assert_max_num_queries,
    inboxes,
):
    closed_port = free_port()
    for n in range(inboxes):
        inbox = make_imap_inbox(imap_account, name=f"Inbox {n}", port=closed_port)
        poll_mailbox(inbox.pk)
        for m in range(3):
            unreadable(inbox, m, new_mail)
    client.force_login(manager)

    with django_assert_max_num_queries(10):
        response = client.get(PAGE)

    html = response.content.decode()
    assert html.count("Mail polling failing") == inboxes
    assert html.count(".eml") >= inboxes * 3
