"""A solved ticket's customer gets the survey the policy chooses, once, on the ticket's channel."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from feedback.models import Survey, SurveyKind, SurveyState
from feedback.surveys import read_link, send_survey
from feedback.tasks import send_due_survey, send_due_surveys
from tests.channels_in.email.mails import mail
from tickets.changes import update_ticket
from tickets.merge import merge_customers, merge_tickets
from tickets.models import Delivery, EventKind, Message, Status, Ticket, TimelineEvent
from tickets.replies import record_reply

pytestmark = pytest.mark.django_db


def test_it_emails_a_csat_survey_with_one_signed_link_per_face_when_a_ticket_is_solved(
    email_inbox, post_email, solve, smtp_server
):
    response = post_email(email_inbox, mail(sender="Paweł <pawel@example.pl>", subject="Paczka"))
    ticket = Ticket.objects.get(pk=response.json()["ticket"])

    solve(ticket)

    survey = Survey.objects.get(ticket=ticket)
    assert survey.kind == SurveyKind.CSAT and survey.channel == "email"
    assert survey.message.is_automated and survey.message.delivery_state == Delivery.SENT
    [received] = smtp_server.messages
    got = received.message
    assert received.rcpt_tos == ["pawel@example.pl"]
    assert str(got["Auto-Submitted"]) == "auto-replied"
    html = got.get_body(("html",)).get_content()
    text = got.get_body(("plain",)).get_content()
    links = re.findall(r'href="(http://127\.0\.0\.1:8000/survey/[^"]+/)"', html)
    assert [read_link(url.rsplit("/", 2)[-2]).score for url in links] == [1, 2, 3, 4, 5]
    assert {read_link(url.rsplit("/", 2)[-2]).survey_id for url in links} == {survey.pk}
    assert "😀" in html and "Very satisfied" in html
    assert all(url in text for url in links)
    # Still solved: an automatic message of ours leaves the status alone.
    ticket.refresh_from_db()
    assert ticket.status == Status.SOLVED
    sent = TimelineEvent.objects.get(kind=EventKind.SURVEY_SENT)
    assert sent.customer_id == ticket.customer_id and sent.data["kind"] == "csat"


def test_it_surveys_a_ticket_solved_by_a_reply(
    inbox, receive, agent, django_capture_on_commit_callbacks
):
    ticket = receive(inbox).ticket

    with django_capture_on_commit_callbacks(execute=True):
        record_reply(ticket=ticket, author=agent, text="Done, thanks!", status=Status.SOLVED)
    with django_capture_on_commit_callbacks(execute=True):
        send_due_surveys()

    survey = Survey.objects.get(ticket=ticket)
    # The test channel has no buttons of its own: the survey page's link.
    link = re.search(r"/survey/([^/\s]+)/", survey.message.body_text).group(1)
    assert read_link(link).survey_id == survey.pk and read_link(link).score is None
    assert survey.message.delivery_state == Delivery.SENT


def test_it_sends_one_survey_per_ticket_however_often_the_task_runs(inbox, receive, solve):
    ticket = solve(receive(inbox).ticket)

    first = Survey.objects.get(ticket=ticket)
    assert first.state == SurveyState.SENT
    assert send_due_survey.delay(first.pk).get() == SurveyState.SENT
    assert send_survey(survey_id=first.pk) == first
    assert send_due_surveys() == 0
    assert Survey.objects.count() == 1
    assert Message.objects.filter(ticket=ticket, is_automated=True).count() == 1
    assert TimelineEvent.objects.filter(kind=EventKind.SURVEY_SENT).count() == 1


def test_it_waits_the_delay_and_a_reopen_meanwhile_cancels_it(
    inbox, receive, agent, settings, django_capture_on_commit_callbacks
):
    settings.SURVEY_DELAY_MINUTES = 30
    ticket = receive(inbox).ticket
    with django_capture_on_commit_callbacks(execute=True):
        update_ticket(ticket=ticket, actor=agent, status=Status.SOLVED)
    assert send_due_surveys() == 0
    # "One more thing": the customer writes again, the agent solves it once more.
    receive(inbox, text="One more thing")
    ticket.refresh_from_db()
    assert ticket.status == Status.OPEN

    with time_machine.travel(timezone.now() + timedelta(minutes=31)):
        assert send_due_surveys() == 1
    assert not Survey.objects.exists()

    with django_capture_on_commit_callbacks(execute=True):
        update_ticket(ticket=ticket, actor=agent, status=Status.SOLVED)
    with time_machine.travel(timezone.now() + timedelta(minutes=31)):
        send_due_surveys()
    assert Survey.objects.get(ticket=ticket).state == SurveyState.SENT


def test_it_sends_no_survey_for_a_ticket_tagged_spam(inbox, receive, agent, solve):
    ticket = receive(inbox).ticket
    update_ticket(ticket=ticket, actor=agent, tags=["spam"])

    solve(ticket)

    survey = Survey.objects.get(ticket=ticket)
    assert survey.state == SurveyState.SKIPPED and "spam" in survey.skipped_reason
    assert not Message.objects.filter(is_automated=True).exists()


def test_it_sends_no_survey_for_a_ticket_merged_before_it_was_due(
    inbox, receive, agent, settings, django_capture_on_commit_callbacks
):
    settings.SURVEY_DELAY_MINUTES = 30
    first = receive(inbox, text="Order 1").ticket
    second = receive(inbox, text="Order 1 again", new_ticket=True).ticket
    with django_capture_on_commit_callbacks(execute=True):
        update_ticket(ticket=second, actor=agent, status=Status.SOLVED)
    merge_tickets(source=second, target=first, actor=agent)

    with time_machine.travel(timezone.now() + timedelta(minutes=31)):
        send_due_surveys()

    survey = Survey.objects.get(ticket=second)
    assert survey.state == SurveyState.SKIPPED and survey.message is None
    assert not Message.objects.filter(is_automated=True).exists()


def test_a_ticket_closed_without_solving_gets_none(inbox, receive, agent, solve):
    ticket = receive(inbox).ticket
    update_ticket(ticket=ticket, actor=agent, status=Status.CLOSED)

    send_due_surveys()

    assert not Survey.objects.exists()


def test_it_sends_a_customer_one_survey_per_period_then_asks_nps(inbox, receive, solve, settings):
    settings.SURVEY_PERIOD_DAYS = 7
    settings.SURVEY_NPS_EVERY_DAYS = 90
    first = solve(receive(inbox, text="First").ticket)
    second = solve(receive(inbox, text="Second", new_ticket=True).ticket)

    assert Survey.objects.get(state=SurveyState.SENT).ticket_id == first.pk
    assert Survey.objects.get(ticket=second).state == SurveyState.SKIPPED

    with time_machine.travel(timezone.now() + timedelta(days=8)):
        third = solve(receive(inbox, text="Third", new_ticket=True).ticket)
        assert Survey.objects.get(ticket=third).kind == SurveyKind.NPS

    with time_machine.travel(timezone.now() + timedelta(days=16)):
        fourth = solve(receive(inbox, text="Fourth", new_ticket=True).ticket)
        # NPS was asked within 90 days: back to the usual question.
        assert Survey.objects.get(ticket=fourth).kind == SurveyKind.CSAT


def test_it_asks_what_the_inbox_chose(inbox, receive, solve):
    inbox.config = {"survey_kind": "ces"}
    inbox.save()
    ces = solve(receive(inbox, sender="a@example.com").ticket)
    assert Survey.objects.get(ticket=ces).kind == SurveyKind.CES

    inbox.config = {"survey_kind": "none"}
    inbox.save()
    none = solve(receive(inbox, sender="b@example.com").ticket)
    assert Survey.objects.get(ticket=none).state == SurveyState.SKIPPED


def test_a_merged_customer_keeps_their_surveys(
    inbox, receive, solve, agent, django_capture_on_commit_callbacks
):
    ticket = solve(receive(inbox, sender="old@example.com").ticket)
    target = receive(inbox, sender="new@example.com").ticket.customer

    with django_capture_on_commit_callbacks(execute=True):
        merge_customers(source=ticket.customer, target=target, actor=agent)

    assert Survey.objects.get(ticket=ticket).customer_id == target.pk
