"""Surveys: send one when a ticket is solved, record the customer's answer once.

schedule_survey() books a survey when a ticket is solved; when it is due
(a beat task), send_survey() asks the policy (policy.py) and queues the
question as an automatic message on the ticket's channel (tickets.automatic),
so the channel's own rules (RFC 3834 loop caps, SMS opt-outs) may still hold
it back. Email carries one signed link per score; the link opens a page that
records nothing until the customer confirms (mail scanners open every link).
SMS and Messenger ask for a number back (answers.py reads it); other channels
get one link to the same page.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, override

from tickets.automatic import record_automatic_reply
from tickets.models import Channel, Customer, EventKind, Message, Status, Ticket, TimelineEvent

from .models import Survey, SurveyKind, SurveyState
from .policy import choose_survey

log = logging.getLogger(__name__)

SALT = "feedback.survey"
MAX_COMMENT = 2000
# Channels where the customer answers by sending the number back.
REPLY_CHANNELS = (Channel.SMS, Channel.MESSENGER)


class SurveyError(Exception):
    """An answer we refuse. Each maps to one HTTP status on the survey page."""

    status = 400


class InvalidLinkError(SurveyError):
    status = 400


class ExpiredError(SurveyError):
    status = 410


class AnsweredError(SurveyError):
    status = 409


class OutOfRangeError(SurveyError):
    status = 400


# --- What each kind asks, and how its ends are called --------------------------

QUESTIONS = {
    SurveyKind.CSAT: gettext_lazy(
        "How satisfied are you with how we handled your request %(ticket)s?"
    ),
    SurveyKind.CES: gettext_lazy("How easy was it to get your request %(ticket)s handled?"),
    SurveyKind.NPS: gettext_lazy(
        "How likely are you to recommend %(company)s to a friend or colleague?"
    ),
}
# Every CSAT score has its own words (and face); CES and NPS name their ends.
LABELS = {
    SurveyKind.CSAT: {
        1: gettext_lazy("Very dissatisfied"),
        2: gettext_lazy("Dissatisfied"),
        3: gettext_lazy("Neither satisfied nor dissatisfied"),
        4: gettext_lazy("Satisfied"),
        5: gettext_lazy("Very satisfied"),
    },
    SurveyKind.CES: {1: gettext_lazy("Very difficult"), 7: gettext_lazy("Very easy")},
    SurveyKind.NPS: {0: gettext_lazy("Not at all likely"), 10: gettext_lazy("Extremely likely")},
}
# Unicode 6 faces: every mail client and phone of the last decade draws them.
FACES = {1: "😠", 2: "😞", 3: "😐", 4: "😊", 5: "😀"}


@dataclass(frozen=True)
class Choice:
    score: int
    label: str
    face: str
    url: str = ""


def question_of(survey: Survey) -> str:
    """The question in the active language."""
    inbox = survey.ticket.inbox
    company = (inbox.config or {}).get("from_name") or inbox.name
    return str(QUESTIONS[survey.kind]) % {"ticket": survey.ticket.reference, "company": company}


def choices_of(survey: Survey, *, with_links: bool = False) -> list[Choice]:
    labels = LABELS[survey.kind]
    return [
        Choice(
            score=score,
            label=str(labels.get(score, "")),
            face=FACES.get(score, "") if survey.kind == SurveyKind.CSAT else "",
            url=link_for(survey, score) if with_links else "",
        )
        for score in survey.scale
    ]


# --- Signed links ------------------------------------------------------------------


@dataclass(frozen=True)
class Link:
    survey_id: int
    # The score the customer clicked; None for a link that preselects nothing.
    score: int | None


def link_for(survey: Survey, score: int | None = None) -> str:
    """The public address of the survey page, signed, with the score it preselects."""
    token = signing.dumps({"s": survey.pk, "v": score}, salt=SALT, compress=False)
    return settings.PUBLIC_BASE_URL + reverse("feedback:answer", args=[token])


def read_link(token: str) -> Link:
    """The survey and score a link names; InvalidLinkError if tampered, ExpiredError if old."""
    try:
        data = signing.loads(token, salt=SALT, max_age=timedelta(days=settings.SURVEY_EXPIRY_DAYS))
    except signing.SignatureExpired as exc:
        raise ExpiredError(_("This survey link has expired.")) from exc
    except signing.BadSignature as exc:
        raise InvalidLinkError(_("This survey link is not valid.")) from exc
    survey_id, score = (data or {}).get("s"), (data or {}).get("v")
    if not isinstance(survey_id, int) or not (score is None or isinstance(score, int)):
        raise InvalidLinkError(_("This survey link is not valid."))
    return Link(survey_id=survey_id, score=score)


# --- Sending -------------------------------------------------------------------------


def schedule_survey(*, ticket_id: int, customer_id: int) -> Survey:
    """A solved ticket's survey, due SURVEY_DELAY_MINUTES from now; once per ticket.

    The delay lets a quick "one more thing" reopen the ticket first, and puts the
    question after the agent's last answer rather than on top of it.
    """
    due = timezone.now() + timedelta(minutes=settings.SURVEY_DELAY_MINUTES)
    survey, _created = Survey.objects.get_or_create(
        ticket_id=ticket_id, defaults={"customer_id": customer_id, "due_at": due}
    )
    return survey


def due_survey_ids(*, limit: int = 500) -> list[int]:
    """Scheduled surveys whose time has come, oldest first (one index range scan)."""
    return list(
        Survey.objects.filter(state=SurveyState.SCHEDULED, due_at__lte=timezone.now())
        .order_by("due_at")
        .values_list("id", flat=True)[:limit]
    )


def send_survey(*, survey_id: int) -> Survey | None:
    """Send a due survey if the policy says so, else mark it skipped; idempotent.

    A ticket that is no longer solved (reopened meanwhile) drops its schedule,
    so solving it again schedules a survey anew. Returns None then.
    """
    customer_id = Survey.objects.filter(pk=survey_id).values_list("customer_id", flat=True).first()
    if customer_id is None:
        return None
    now = timezone.now()
    with transaction.atomic():
        # The customer's row lock (the one ingest takes) makes "one survey per
        # period" hold when two of their tickets' surveys fall due together.
        customer = Customer.objects.select_for_update().filter(pk=customer_id).first()
        survey = (
            Survey.objects.select_for_update()
            .filter(pk=survey_id, state=SurveyState.SCHEDULED)
            .first()
        )
        if survey is None or customer is None:
            # Sent or skipped already (a task run twice): nothing more to do.
            return Survey.objects.filter(pk=survey_id).first()
        ticket = Ticket.objects.select_related("inbox").get(pk=survey.ticket_id)
        if ticket.status != Status.SOLVED and not ticket.merged_into_id:
            survey.delete()
            return None
        decision = choose_survey(ticket=ticket, now=now)
        if decision.kind is None:
            log.info("no survey for ticket %s: %s", ticket.pk, decision.reason)
            survey.state = SurveyState.SKIPPED
            survey.skipped_reason = decision.reason[:200]
            survey.save(update_fields=["state", "skipped_reason"])
            return survey
        days = settings.SURVEY_EXPIRY_DAYS
        if ticket.last_channel in REPLY_CHANNELS:
            # A number texted back after the reopen window would start a new ticket.
            days = min(days, settings.REOPEN_WINDOW_DAYS)
        survey.customer = customer
        survey.kind = decision.kind
        survey.channel = ticket.last_channel
        survey.language = customer.locale
        survey.sent_at = now
        survey.expires_at = now + timedelta(days=days)
        survey.ticket = ticket
        with override(survey.language):
            text, html = compose_question(survey)
        message = record_automatic_reply(
            ticket=ticket, text=text, html=html, idempotency_key=f"survey:{survey.pk}"
        )
        if survey.channel == Channel.MESSENGER:
            # Before commit, so the sender (queued on commit) reads them:
            # record_automatic_reply takes no channel options of its own.
            Message.objects.filter(pk=message.pk).update(
                meta={**message.meta, "quick_replies": quick_replies_for(survey)}
            )
        survey.state = SurveyState.SENT
        survey.message = message
        survey.inbox_id = message.inbox_id
        survey.save()
        TimelineEvent.objects.create(
            customer_id=ticket.customer_id,
            ticket=ticket,
            kind=EventKind.SURVEY_SENT,
            data={
                "survey": survey.pk,
                "kind": survey.kind,
                "channel": survey.channel,
                "message": message.pk,
            },
            created_at=now,
        )
    return survey


def compose_question(survey: Survey) -> tuple[str, str]:
    """(text, html) of the question for the survey's channel, in the active language."""
    question = question_of(survey)
    low, high = survey.scale[0], survey.scale[-1]
    labels = LABELS[survey.kind]
    if survey.channel == Channel.EMAIL:
        context = {
            "survey": survey,
            "question": question,
            "choices": choices_of(survey, with_links=True),
            "low_label": labels[low],
            "high_label": labels[high],
            "expires_at": survey.expires_at,
        }
        text = render_to_string("feedback/email_survey.txt", context)
        html = render_to_string("feedback/email_survey.html", context)
        return text, html
    if survey.channel in REPLY_CHANNELS:
        ask = _(
            "Reply with a number from %(low)s (%(low_label)s) to %(high)s (%(high_label)s)."
        ) % {"low": low, "low_label": labels[low], "high": high, "high_label": labels[high]}
        return f"{question} {ask}", ""
    # Chat and the rest: one link to the survey page.
    link = _("Tell us here: %(url)s") % {"url": link_for(survey)}
    return f"{question} {link}", ""


def quick_replies_for(survey: Survey) -> list[dict]:
    """Messenger buttons, one per score; the payload names the survey (answers.py reads it)."""
    return [
        {
            "content_type": "text",
            # Meta shows at most 20 characters of a title.
            "title": f"{choice.face} {choice.score}" if choice.face else str(choice.score),
            "payload": f"SURVEY:{survey.pk}:{choice.score}",
        }
        for choice in choices_of(survey)
    ]


# --- Answers -------------------------------------------------------------------------


def record_answer(
    *,
    survey_id: int,
    score: int,
    via: str,
    comment: str = "",
    message: Message | None = None,
    at: datetime | None = None,
) -> Survey:
    """Record the customer's answer once; it lands on their timeline.

    Raises AnsweredError for a second answer, ExpiredError past the survey's
    expiry, OutOfRangeError for a score outside the kind's scale.
    """
    at = at or timezone.now()
    with transaction.atomic():
        survey = Survey.objects.select_for_update().select_related("ticket").get(pk=survey_id)
        if survey.state != SurveyState.SENT or survey.expires_at is None:
            raise InvalidLinkError(_("This survey link is not valid."))
        if survey.answered_at is not None:
            raise AnsweredError(_("This survey has already been answered. Thank you!"))
        if at >= survey.expires_at:
            raise ExpiredError(_("This survey has expired."))
        if not survey.accepts(score):
            raise OutOfRangeError(
                _("Choose a number from %(low)s to %(high)s.")
                % {"low": survey.scale[0], "high": survey.scale[-1]}
            )
        survey.score = score
        survey.comment = comment.strip()[:MAX_COMMENT]
        survey.answered_at = at
        survey.answered_via = via[:16]
        survey.answer_message = message
        survey.save(
            update_fields=["score", "comment", "answered_at", "answered_via", "answer_message"]
        )
        TimelineEvent.objects.create(
            customer_id=survey.ticket.customer_id,
            ticket_id=survey.ticket_id,
            kind=EventKind.SURVEY_ANSWERED,
            data={
                "survey": survey.pk,
                "kind": survey.kind,
                "score": score,
                "max": survey.scale[-1],
                "comment": survey.comment[:500],
                "via": survey.answered_via,
            },
            created_at=at,
        )
    return survey


def move_surveys(*, source_id: int, target_id: int) -> int:
    """A merged customer's surveys belong to the customer they were merged into."""
    return Survey.objects.filter(customer_id=source_id).update(customer_id=target_id)
