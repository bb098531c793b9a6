"""The dashboards' survey scores: CSAT share satisfied, CES mean, NPS."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from feedback.models import Survey
from feedback.reports import survey_scores
from feedback.surveys import record_answer

pytestmark = pytest.mark.django_db


def test_it_scores_the_answers_of_each_kind(inbox, receive, solve):
    def answered(kind: str, sender: str, score: int | None) -> None:
        inbox.config = {"survey_kind": kind}
        inbox.save()
        survey = Survey.objects.get(ticket=solve(receive(inbox, sender=sender).ticket))
        if score is not None:
            record_answer(survey_id=survey.pk, score=score, via="link")

    for n, score in enumerate([5, 4, 2, None]):
        answered("csat", f"csat{n}@example.com", score)
    for n, score in enumerate([7, 4]):
        answered("ces", f"ces{n}@example.com", score)
    for n, score in enumerate([10, 9, 8, 3]):
        answered("nps", f"nps{n}@example.com", score)
    now = timezone.now()

    scores = survey_scores(since=now - timedelta(days=1), until=now + timedelta(seconds=1))

    assert (scores.sent, scores.answered, scores.response_rate) == (10, 9, 90.0)
    assert scores.csat == 66.7  # 2 of 3 satisfied
    assert scores.ces == 5.5
    assert scores.nps == 25.0  # 2 promoters, 1 detractor of 4
    empty = survey_scores(since=now + timedelta(days=1), until=now + timedelta(days=2))
    assert (empty.sent, empty.csat, empty.ces, empty.nps, empty.response_rate) == (
        0,
        None,
        None,
        None,
        None,
    )
