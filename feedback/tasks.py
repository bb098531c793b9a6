"""Celery tasks: each takes ids, calls one function, and is safe to run twice."""

from __future__ import annotations

from celery import shared_task

from .surveys import due_survey_ids, send_survey


@shared_task
def send_due_surveys() -> int:
    """Beat: queue the surveys that are due. A survey queued twice is sent once."""
    ids = due_survey_ids()
    for survey_id in ids:
        send_due_survey.delay(survey_id)
    return len(ids)


@shared_task(acks_late=True)
def send_due_survey(survey_id: int) -> str:
    """Send one due survey, or mark it skipped; a second run finds it no longer scheduled."""
    survey = send_survey(survey_id=survey_id)
    return survey.state if survey else "unscheduled"
