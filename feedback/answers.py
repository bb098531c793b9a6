"""A survey answered by a message: the number a customer texts back (SMS, Messenger).

Why a hook before ingest, not a listener after it: a customer's message on a
solved ticket reopens it (tickets/ingest.py), and a survey answer must not.
So channels_in's pipeline lets us look at each inbound message before it is
ingested (channels_in.pipeline.add_inbound_hook): a bare number from a
customer who has an open survey from this inbox is marked is_automated (the
flag that makes ingest thread a message without reopening the ticket or
leaving anyone waiting, as it does for STOP or an out-of-office reply),
pointed at the survey's ticket and tagged with the survey in its meta. After
ingest, in the same transaction, the answer is recorded. Any other text is
an ordinary message and reopens the ticket as always.
"""

from __future__ import annotations

import dataclasses
import logging
import re

from django.utils import timezone

from tickets.ingest import InboundMessage, IngestResult
from tickets.models import Direction, Identity, Message

from .models import Survey
from .surveys import REPLY_CHANNELS, SurveyError, record_answer

log = logging.getLogger(__name__)

# "5", " 5 ", "5.", "10!" — a number and nothing else a person would mean by it.
_NUMBER = re.compile(r"\s*(\d{1,2})\s*[.!]?\s*")
# Messenger quick replies carry "SURVEY:<survey id>:<score>" as their payload.
_QUICK_REPLY = re.compile(r"SURVEY:(\d+):(\d{1,2})")


def read_score(inbound: InboundMessage) -> tuple[int | None, int] | None:
    """(survey id if the message names it, score) for a message that is only a number."""
    quick = ((inbound.meta or {}).get("messenger") or {}).get("quick_reply")
    payload = quick.get("payload") if isinstance(quick, dict) else quick
    if isinstance(payload, str):
        match = _QUICK_REPLY.fullmatch(payload)
        if match:
            return int(match.group(1)), int(match.group(2))
    match = _NUMBER.fullmatch(inbound.text or "")
    if match and not inbound.attachments:
        return None, int(match.group(1))
    return None


def open_survey_for(inbound: InboundMessage) -> Survey | None:
    """The latest survey still waiting for this sender's answer on this inbox and channel."""
    sender = inbound.sender
    if sender is None:
        return None
    value = Identity.normalize(sender.kind, sender.value)
    return (
        Survey.objects.filter(
            inbox_id=inbound.inbox_id,
            channel=inbound.channel,
            answered_at__isnull=True,
            expires_at__gt=timezone.now(),
            customer_id__in=Identity.objects.filter(kind=sender.kind, value=value).values(
                "customer_id"
            ),
        )
        .select_related("ticket")
        .order_by("-sent_at")
        .first()
    )


def _asked_last(survey: Survey) -> bool:
    """Whether the survey is the latest message we sent the customer from its inbox."""
    latest = (
        Message.objects.filter(
            inbox_id=survey.inbox_id,
            direction=Direction.OUT,
            is_note=False,
            ticket__customer_id=survey.ticket.customer_id,
        )
        .order_by("-id")
        .values_list("id", flat=True)
        .first()
    )
    return latest == survey.message_id


def recognise_answer(inbound: InboundMessage) -> InboundMessage:
    """Before ingest: mark a number sent back to an open survey as that survey's answer."""
    if inbound.channel not in REPLY_CHANNELS or inbound.is_automated:
        return inbound
    read = read_score(inbound)
    if read is None:
        return inbound
    named, score = read
    survey = open_survey_for(inbound)
    if survey is None:
        return inbound
    if named is not None and named != survey.pk:
        return inbound
    if named is None and not _asked_last(survey):
        # An agent wrote since ("1 or 2?"): the number answers them, not the survey.
        return inbound
    return dataclasses.replace(
        inbound,
        # Threads into the survey's ticket without reopening it.
        is_automated=True,
        ticket_hint=survey.ticket_id,
        meta={**inbound.meta, "survey_answer": {"survey": survey.pk, "score": score}},
    )


def record_answer_message(result: IngestResult, inbound: InboundMessage) -> None:
    """After ingest, in its transaction: record the answer the message carries."""
    answer = (inbound.meta or {}).get("survey_answer")
    if not answer:
        return
    try:
        record_answer(
            survey_id=answer["survey"],
            score=answer["score"],
            via=inbound.channel,
            message=result.message,
        )
    except SurveyError as exc:
        # Out of range ("9" to a 1–5 question), or answered meanwhile: the message
        # stays on the timeline, reopens nothing, and the survey records nothing.
        log.info("survey %s answer refused: %s", answer["survey"], exc)
