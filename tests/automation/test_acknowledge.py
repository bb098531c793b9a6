"""Acknowledgements of new tickets: the template, the honest expected reply time (business
hours, holidays, the live queue, the inbox's history) in en/pl/cs, once per ticket,
throttled per customer, never in answer to automatic mail. Time-travel with time-machine;
the chain runs for real (ingest -> MessageReceived -> task -> outbox -> adapter)."""

from __future__ import annotations

import shutil
import subprocess
from datetime import datetime, timedelta
from email import message_from_bytes, policy
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from agents.accounts import create_agent
from channels_in.inboxes import create_inbox
from tickets.acknowledge import (
    DEFAULT_TEMPLATES,
    TemplateError,
    acknowledge,
    expect_reply,
    validate_template,
)
from tickets.models import Channel, Delivery, Direction, EventKind, Message, TimelineEvent
from tickets.replies import record_reply

pytestmark = pytest.mark.django_db

WARSAW = ZoneInfo("Europe/Warsaw")
HERE = Path(__file__).parent
# Open 08:00-16:00 on weekdays, Polish public holidays off.
HOURS = {
    "timezone": "Europe/Warsaw",
    "week": {day: [["08:00", "16:00"]] for day in ("mon", "tue", "wed", "thu", "fri")},
    "holidays": "PL",
}


def at(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=WARSAW)


@pytest.fixture
def acked_inbox(db, team, agent):
    """A test-channel inbox with acknowledgements on, business hours, a promise of 2 hours
    and one agent (the Support team's) to answer."""
    return create_inbox(
        channel=Channel.TEST,
        name="Kowalski Garden Shop",
        team=team,
        config={
            "business_hours": HOURS,
            "reply_within_hours": 2,
            "acknowledgement": {"enabled": True},
        },
    )


@pytest.fixture
def ack_locale(settings, tmp_path):
    """The pl and cs catalogs with the acknowledgement's proposed translations added
    (tests/automation/locale/*.po) where the real catalog has none yet."""
    if not (shutil.which("msgfmt") and shutil.which("msgcat")):
        pytest.fail("gettext (msgfmt, msgcat) is needed: apt-get install gettext")
    for language in ("pl", "cs"):
        target = tmp_path / "locale" / language / "LC_MESSAGES"
        target.mkdir(parents=True)
        real = Path(settings.BASE_DIR) / "locale" / language / "LC_MESSAGES" / "django.po"
        merged = target / "django.po"
        proposed = HERE / "locale" / f"{language}.po"
        subprocess.run(
            ["msgcat", "--use-first", "-o", str(merged), str(real), str(proposed)], check=True
        )
        subprocess.run(["msgfmt", "-o", str(target / "django.mo"), str(merged)], check=True)
    settings.LOCALE_PATHS = [tmp_path / "locale"]


def write(receive, inbox, capture, sender="jan@example.com", **fields):
    """The customer writes; everything that follows the commit runs (the tasks inline)."""
    fields.setdefault("continues_conversation", False)
    with capture(execute=True):
        return receive(inbox, sender=sender, **fields)


def acks(ticket=None) -> list[Message]:
    found = Message.objects.filter(
        direction=Direction.OUT, idempotency_key__startswith="ack:"
    ).order_by("id")
    return list(found.filter(ticket=ticket) if ticket else found)


# --- the expected reply, time-travelled ------------------------------------------------


def test_without_business_hours_the_time_is_told_in_the_helpdesks_time_zone(
    team, agent, receive, django_capture_on_commit_callbacks, settings
):
    settings.TIME_ZONE = "Europe/Warsaw"
    inbox = create_inbox(
        channel=Channel.TEST,
        name="Sklep",
        team=team,
        config={"reply_within_hours": 4, "acknowledgement": {"enabled": True}},
    )

    # 05:57 in Warsaw is 04:57 UTC: four hours on, the customer reads 9:57, not 8:57.
    with time_machine.travel(at(2026, 11, 25, 5, 57), tick=False):
        result = write(receive, inbox, django_capture_on_commit_callbacks)

    (ack,) = acks(result.ticket)
    assert "so you can expect an answer by 9:57 today." in ack.body_text


@pytest.mark.parametrize(
    "now,sentence",
    [
        # Wednesday morning: 2 hours of open time from now.
        (at(2026, 11, 25, 10, 0), "We usually reply within 2 hours, so you can expect an "
         "answer by 12:00 today."),
        # An hour before closing: the second hour is tomorrow's first.
        (at(2026, 11, 25, 15, 0), "We usually reply within 2 hours, so you can expect an "
         "answer by 9:00 tomorrow."),
        # Wednesday evening: the clock starts when the team is back.
        (at(2026, 11, 25, 18, 30), "We usually reply within 2 hours; it is outside our "
         "working hours now, so you can expect an answer by 10:00 tomorrow."),
        # Friday evening: over the weekend.
        (at(2026, 11, 27, 17, 0), "We usually reply within 2 hours; it is outside our "
         "working hours now, so you can expect an answer by 10:00 on Monday."),
        # Independence Day (a Wednesday): a holiday, not just after hours.
        (at(2026, 11, 11, 10, 0), "We usually reply within 2 hours; we are closed today, "
         "so you can expect an answer by 10:00 tomorrow."),
        # Christmas Eve (a public holiday in Poland since 2025), Christmas Day, a weekend.
        (at(2026, 12, 24, 9, 0), "We usually reply within 2 hours; we are closed today, "
         "so you can expect an answer by 10:00 on Monday."),
    ],
)  # fmt: skip
def test_it_says_when_to_expect_a_reply_in_business_hours(
    acked_inbox, receive, django_capture_on_commit_callbacks, now, sentence
):
    with time_machine.travel(now, tick=False):
        result = write(
            receive, acked_inbox, django_capture_on_commit_callbacks, name="Jan Kowalski"
        )

    (ack,) = acks(result.ticket)
    assert ack.body_text == (
        f"Hello Jan,\n\nthank you for your message. We have received it as request "
        f"{result.ticket.reference}.\n{sentence}\n\nKowalski Garden Shop"
    )
    assert ack.delivery_state == Delivery.SENT and ack.is_automated
    assert ack.channel == Channel.TEST and ack.author_kind == "system"


@pytest.mark.parametrize(
    "language,now,sentence",
    [
        ("pl", at(2026, 11, 25, 10, 0), "Zwykle odpowiadamy w ciągu 2 godzin, więc odpowiedź "
         "otrzymasz najpóźniej: dziś o 12:00."),
        ("pl", at(2026, 11, 25, 18, 30), "Zwykle odpowiadamy w ciągu 2 godzin; teraz jesteśmy "
         "poza godzinami pracy, więc odpowiedź otrzymasz najpóźniej: jutro o 10:00."),
        ("pl", at(2026, 11, 11, 10, 0), "Zwykle odpowiadamy w ciągu 2 godzin; dziś mamy dzień "
         "wolny, więc odpowiedź otrzymasz najpóźniej: jutro o 10:00."),
        ("cs", at(2026, 11, 25, 10, 0), "Obvykle odpovídáme do 2 hodin, odpověď tedy můžete "
         "čekat nejpozději: dnes v 12:00."),
        ("cs", at(2026, 11, 27, 17, 0), "Obvykle odpovídáme do 2 hodin; teď je mimo naši "
         "pracovní dobu, odpověď tedy můžete čekat nejpozději: pondělí v 10:00."),
        ("cs", at(2026, 12, 24, 9, 0), "Obvykle odpovídáme do 2 hodin; dnes máme zavřeno, "
         "odpověď tedy můžete čekat nejpozději: pondělí v 10:00."),
    ],
)  # fmt: skip
def test_it_speaks_the_customers_language(
    acked_inbox, receive, django_capture_on_commit_callbacks, ack_locale, language, now, sentence
):
    acked_inbox.language = language
    acked_inbox.save(update_fields=["language"])

    with time_machine.travel(now, tick=False):
        result = write(receive, acked_inbox, django_capture_on_commit_callbacks, name="Jan Novák")

    (ack,) = acks(result.ticket)
    greeting = {"pl": "Dzień dobry Jan,", "cs": "Dobrý den Jan,"}[language]
    assert ack.body_text.startswith(greeting), ack.body_text
    assert f"\n{sentence}\n" in ack.body_text, ack.body_text
    assert result.ticket.reference in ack.body_text
    event = TimelineEvent.objects.get(kind=EventKind.ACKNOWLEDGED)
    assert event.data["language"] == language and event.message_id == ack.pk


def test_it_counts_the_inboxs_usual_first_response_in_business_time(
    acked_inbox, receive, agent, django_capture_on_commit_callbacks
):
    # Five earlier tickets, answered after 30, 30, 45 and 90 minutes, and one written at
    # 15:30 and answered at 8:30 the next morning: 1 hour of business time, not 17.
    earlier = [
        (at(2026, 11, 16, 9, 0), timedelta(minutes=30)),
        (at(2026, 11, 16, 11, 0), timedelta(minutes=30)),
        (at(2026, 11, 17, 9, 0), timedelta(minutes=45)),
        (at(2026, 11, 17, 15, 30), timedelta(hours=17)),
        (at(2026, 11, 18, 9, 0), timedelta(minutes=90)),
    ]
    for number, (written, answered_after) in enumerate(earlier):
        with time_machine.travel(written, tick=False):
            ticket = receive(acked_inbox, sender=f"earlier{number}@example.com").ticket
        with time_machine.travel(written + answered_after, tick=False):
            record_reply(ticket=ticket, author=agent, text="Thank you, sorted.")

    with time_machine.travel(at(2026, 11, 25, 10, 0), tick=False):
        expectation = expect_reply(acked_inbox)
        result = write(receive, acked_inbox, django_capture_on_commit_callbacks)

    assert expectation.typical == timedelta(minutes=45)
    assert (expectation.queue, expectation.agents) == (0, 1)
    (ack,) = acks(result.ticket)
    assert "We usually reply within 45 minutes, so you can expect an answer by 10:45 today." in (
        ack.body_text
    )


def test_a_long_queue_stretches_the_promise(
    acked_inbox, receive, settings, django_capture_on_commit_callbacks
):
    settings.ACK_QUEUE_PER_AGENT = 5
    with time_machine.travel(at(2026, 11, 25, 9, 0), tick=False):
        for number in range(10):
            receive(acked_inbox, sender=f"waiting{number}@example.com")
        result = write(receive, acked_inbox, django_capture_on_commit_callbacks)

    # Ten unanswered tickets ahead for one agent, twice the usual five: twice the wait.
    event = TimelineEvent.objects.get(kind=EventKind.ACKNOWLEDGED, ticket=result.ticket)
    assert (event.data["queue"], event.data["agents"], event.data["within_minutes"]) == (10, 1, 240)
    assert "within 4 hours, so you can expect an answer by 13:00 today" in acks()[0].body_text


# --- once, throttled, loop-safe ----------------------------------------------------------


def test_it_acknowledges_a_ticket_once(acked_inbox, receive, django_capture_on_commit_callbacks):
    with time_machine.travel(at(2026, 11, 25, 10, 0), tick=False):
        result = write(receive, acked_inbox, django_capture_on_commit_callbacks)
        # The same task delivered again, and the customer writing more on the ticket.
        again = acknowledge(ticket_id=result.ticket.pk, message_id=result.message.pk)
        write(receive, acked_inbox, django_capture_on_commit_callbacks, continues_conversation=True)

    (ack,) = acks()
    assert again.state == "queued" and again.message.pk == ack.pk
    assert TimelineEvent.objects.filter(kind=EventKind.ACKNOWLEDGED).count() == 1
    assert Message.objects.filter(direction=Direction.OUT).count() == 1


def test_it_throttles_per_customer(
    acked_inbox, receive, settings, django_capture_on_commit_callbacks
):
    settings.ACK_THROTTLE_HOURS = 6
    with time_machine.travel(at(2026, 11, 25, 9, 0), tick=False):
        first = write(receive, acked_inbox, django_capture_on_commit_callbacks)
    with time_machine.travel(at(2026, 11, 25, 13, 0), tick=False):
        second = write(receive, acked_inbox, django_capture_on_commit_callbacks)
        someone_else = write(receive, acked_inbox, django_capture_on_commit_callbacks, "ewa@x.pl")
    with time_machine.travel(at(2026, 11, 26, 9, 0), tick=False):
        third = write(receive, acked_inbox, django_capture_on_commit_callbacks)

    tickets = {first.ticket.pk, second.ticket.pk, third.ticket.pk, someone_else.ticket.pk}
    assert len(tickets) == 4
    assert [m.ticket_id for m in acks()] == [
        first.ticket.pk,
        someone_else.ticket.pk,
        third.ticket.pk,
    ]


def test_it_never_answers_automatic_messages(
    acked_inbox, receive, django_capture_on_commit_callbacks
):
    with time_machine.travel(at(2026, 11, 25, 10, 0), tick=False):
        result = write(receive, acked_inbox, django_capture_on_commit_callbacks, is_automated=True)

    assert acks() == []
    outcome = acknowledge(ticket_id=result.ticket.pk, message_id=result.message.pk)
    assert (outcome.state, outcome.reason) == ("skipped", "the first message is automatic")


def test_it_is_off_unless_the_inbox_turns_it_on(inbox, receive, django_capture_on_commit_callbacks):
    write(receive, inbox, django_capture_on_commit_callbacks)

    assert acks() == []


def test_a_chat_gets_no_acknowledgement(widget_inbox, receive, django_capture_on_commit_callbacks):
    # The widget's away notice tells a visitor nobody can answer live when to expect a reply.
    widget_inbox.config = {**widget_inbox.config, "acknowledgement": {"enabled": True}}
    widget_inbox.save(update_fields=["config"])

    write(receive, widget_inbox, django_capture_on_commit_callbacks, sender="visitor-1")

    assert acks() == []


def test_an_email_acknowledgement_is_marked_automatic_and_an_auto_reply_gets_none(
    email_inbox, post_email, smtp_server, django_capture_on_commit_callbacks
):
    email_inbox.config = {
        **email_inbox.config,
        "acknowledgement": {"enabled": True, "templates": {"en": "Hi {first_name}: {ticket}."}},
    }
    email_inbox.save(update_fields=["config"])
    mail = (
        b"From: Jan Kowalski <jan@example.com>\r\nTo: support@helpdesk.example\r\n"
        b"Subject: Order 7301\r\nMessage-ID: <first@example.com>\r\n"
        b"Date: Wed, 25 Nov 2026 10:00:00 +0100\r\n\r\nWhere is my order?\r\n"
    )
    auto_reply = (
        b"From: Ewa <ewa@example.com>\r\nTo: support@helpdesk.example\r\n"
        b"Subject: Out of office\r\nMessage-ID: <away@example.com>\r\n"
        b"Auto-Submitted: auto-replied\r\n\r\nI am away until Monday.\r\n"
    )

    with django_capture_on_commit_callbacks(execute=True):
        assert post_email(email_inbox, mail).status_code == 202
        assert post_email(email_inbox, auto_reply).status_code == 202

    (sent,) = smtp_server.messages
    message = message_from_bytes(sent.raw, policy=policy.default)
    (ack,) = acks()
    assert sent.rcpt_tos == ["jan@example.com"]
    assert message.get_body(("plain",)).get_content().strip() == f"Hi Jan: #{ack.ticket_id}."
    assert message["Auto-Submitted"] == "auto-replied"
    assert message["In-Reply-To"] == "<first@example.com>"
    assert ack.delivery_state == Delivery.SENT


# --- templates refused when saved ---------------------------------------------------------


def test_a_template_with_an_unknown_variable_is_refused_naming_it():
    with pytest.raises(TemplateError) as refused:
        validate_template("Hi {first_name}, your order {order_number} is {status!r}.")
    assert "{order_number}" in str(refused.value) and "{status!r}" in str(refused.value)
    with pytest.raises(TemplateError, match="stray brace"):
        validate_template("Hi {first_name")
    for text in DEFAULT_TEMPLATES.values():
        assert validate_template(text) == text
    assert validate_template("{{not a variable}} {ticket}") == "{{not a variable}} {ticket}"


def test_the_api_refuses_an_inbox_whose_template_names_an_unknown_variable(db, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    admin, _ = create_agent(email="admin@example.com", password="correct-horse", role="admin")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get(user=admin).key}")
    config = {"acknowledgement": {"enabled": True, "templates": {"pl": "Cześć {imie}!"}}}

    refused = api.post(
        "/api/v1/inboxes/", {"channel": "email", "name": "Poczta", "config": config}, format="json"
    )
    config["acknowledgement"]["templates"]["pl"] = "Cześć {first_name}! {expected_reply}"
    accepted = api.post(
        "/api/v1/inboxes/", {"channel": "email", "name": "Poczta", "config": config}, format="json"
    )

    assert refused.status_code == 400, refused.content
    assert "pl: Unknown variable {imie}" in refused.json()["detail"], refused.json()
    assert accepted.status_code == 201, accepted.content


# --- the managers' editor on /agent/inboxes/ -----------------------------------------------


def test_a_manager_edits_the_acknowledgement_and_an_unknown_variable_is_named(
    client, manager, acked_inbox
):
    client.force_login(manager)
    form = {
        "inbox": acked_inbox.pk,
        "enabled": "on",
        "template_en": "Hi {first_name}, we got {ticket}. {expected_reply}",
        "template_pl": "Cześć {imie}, mamy {ticket}.",
        "template_cs": "",
    }

    refused = client.post("/agent/inboxes/", form)
    form["template_pl"] = "Cześć {first_name}, mamy {ticket}."
    saved = client.post("/agent/inboxes/", form)

    assert refused.status_code == 400
    page = refused.content.decode()
    assert "pl: Unknown variable {imie}" in page and "Cześć {imie}, mamy {ticket}." in page
    assert saved.status_code == 302
    assert saved["Location"].endswith(f"?saved={acked_inbox.pk}#inbox-{acked_inbox.pk}")
    acked_inbox.refresh_from_db()
    assert acked_inbox.config["acknowledgement"] == {
        "enabled": True,
        "templates": {
            "en": "Hi {first_name}, we got {ticket}. {expected_reply}",
            "pl": "Cześć {first_name}, mamy {ticket}.",
        },
    }
    assert acked_inbox.config["business_hours"] == HOURS  # the rest of the config is kept
    shown = client.get(saved["Location"]).content.decode()
    assert "Saved." in shown and DEFAULT_TEMPLATES["cs"].split(",")[0] in shown


def test_an_agent_may_not_edit_the_acknowledgement(client, agent, acked_inbox):
    client.force_login(agent)

    response = client.post("/agent/inboxes/", {"inbox": acked_inbox.pk, "template_en": "x"})

    assert response.status_code == 403
    assert "Save acknowledgement" not in client.get("/agent/inboxes/").content.decode()
