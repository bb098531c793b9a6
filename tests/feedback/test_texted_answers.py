"""SMS surveys: a question asking for a number, and the number texted back recorded
without reopening the solved ticket."""

from __future__ import annotations

import pytest

from feedback.answers import read_score
from feedback.models import Survey, SurveyKind
from feedback.tasks import send_due_surveys
from tests.channels_in.sms.forms import CUSTOMER, inbound_text
from tickets.changes import update_ticket
from tickets.ingest import InboundMessage, SenderIdentity
from tickets.models import EventKind, Status, Ticket, TimelineEvent
from tickets.replies import record_reply


def _inbound(text: str, **meta) -> InboundMessage:
    return InboundMessage(
        inbox_id=1,
        channel="sms",
        sender=SenderIdentity(kind="phone", value=CUSTOMER),
        external_id="SM1",
        text=text,
        meta=meta,
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("5", (None, 5)),
        (" 4 ", (None, 4)),
        ("10", (None, 10)),
        ("3.", (None, 3)),
        ("0!", (None, 0)),
        ("5 stars", None),
        ("Still broken, 2 days now", None),
        ("", None),
        ("123", None),
    ],
)
def test_it_reads_a_bare_number_as_a_score(text, expected):
    assert read_score(_inbound(text)) == expected


def test_it_reads_a_messenger_quick_reply_payload():
    quick = {"messenger": {"quick_reply": {"payload": "SURVEY:12:4"}}}
    assert read_score(_inbound("Satisfied", **quick)) == (12, 4)


@pytest.fixture
def solved_sms_ticket(sms_inbox, post_sms, agent, twilio_messages):
    post_sms(sms_inbox, inbound_text("Dzień dobry, gdzie jest moja paczka?"))
    ticket = Ticket.objects.get()
    # A transactional test: the events are delivered as each change commits.
    solved = update_ticket(ticket=ticket, actor=agent, status=Status.SOLVED)
    send_due_surveys()
    return solved


# Transactional: each webhook commits, as it does in production.
in_transactions = pytest.mark.django_db(transaction=True)


@in_transactions
def test_it_texts_a_question_and_records_the_number_texted_back_without_reopening(
    solved_sms_ticket, sms_inbox, post_sms, twilio_messages
):
    survey = Survey.objects.get(ticket=solved_sms_ticket)
    assert survey.kind == SurveyKind.CSAT and survey.channel == "sms"
    [sent] = twilio_messages.sent()
    assert sent["To"] == [CUSTOMER]
    assert (
        "Reply with a number from 1 (Very dissatisfied) to 5 (Very satisfied)." in sent["Body"][0]
    )

    post_sms(sms_inbox, inbound_text(" 4 "))

    survey.refresh_from_db()
    assert (survey.score, survey.answered_via) == (4, "sms")
    reply = survey.answer_message
    assert reply.body_text.strip() == "4" and reply.ticket_id == solved_sms_ticket.pk
    assert reply.is_automated and reply.meta["survey_answer"] == {"survey": survey.pk, "score": 4}
    solved_sms_ticket.refresh_from_db()
    assert solved_sms_ticket.status == Status.SOLVED
    assert not TimelineEvent.objects.filter(kind=EventKind.REOPENED).exists()
    assert TimelineEvent.objects.get(kind=EventKind.SURVEY_ANSWERED).data["score"] == 4


@in_transactions
def test_it_refuses_a_number_out_of_range_and_keeps_the_ticket_solved(
    solved_sms_ticket, sms_inbox, post_sms
):
    post_sms(sms_inbox, inbound_text("9"))

    survey = Survey.objects.get(ticket=solved_sms_ticket)
    assert survey.answered_at is None and survey.score is None
    solved_sms_ticket.refresh_from_db()
    assert solved_sms_ticket.status == Status.SOLVED

    # The survey still waits for a number it can take.
    post_sms(sms_inbox, inbound_text("5"))
    survey.refresh_from_db()
    assert survey.score == 5


@in_transactions
def test_a_second_number_is_an_ordinary_message(solved_sms_ticket, sms_inbox, post_sms):
    post_sms(sms_inbox, inbound_text("2"))
    post_sms(sms_inbox, inbound_text("5"))

    survey = Survey.objects.get(ticket=solved_sms_ticket)
    assert survey.score == 2
    # Nothing waits for an answer any more: "5" is the customer talking to us.
    solved_sms_ticket.refresh_from_db()
    assert solved_sms_ticket.status == Status.OPEN


@in_transactions
def test_words_still_reopen_the_ticket(solved_sms_ticket, sms_inbox, post_sms):
    post_sms(sms_inbox, inbound_text("The parcel still has not come"))

    solved_sms_ticket.refresh_from_db()
    assert solved_sms_ticket.status == Status.OPEN
    assert Survey.objects.get(ticket=solved_sms_ticket).answered_at is None


@in_transactions
def test_a_number_answers_the_agent_who_wrote_after_the_survey(
    solved_sms_ticket, sms_inbox, post_sms, agent
):
    record_reply(ticket=solved_sms_ticket, author=agent, text="Which parcel, 1 or 2?")

    post_sms(sms_inbox, inbound_text("2"))

    assert Survey.objects.get(ticket=solved_sms_ticket).answered_at is None
    solved_sms_ticket.refresh_from_db()
    assert solved_sms_ticket.status == Status.OPEN
