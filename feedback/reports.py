"""Survey scores for the dashboards: one aggregate query per call.

CSAT is the share of satisfied answers (4 or 5 of 5), CES the mean effort
(1–7, higher is easier), NPS the share of promoters (9–10) minus the share
of detractors (0–6), from -100 to 100.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Avg, Count, Q

from .models import Survey, SurveyKind


@dataclass(frozen=True)
class Scores:
    sent: int
    answered: int
    # Percent of answers that are satisfied (4-5), None without answers.
    csat: float | None
    # Mean CES answer, None without answers.
    ces: float | None
    # Net Promoter Score, None without answers.
    nps: float | None

    @property
    def response_rate(self) -> float | None:
        return round(100 * self.answered / self.sent, 1) if self.sent else None


def survey_scores(*, since: datetime, until: datetime, team_id: int | None = None) -> Scores:
    """Scores of the surveys sent in [since, until), optionally of one team's tickets."""
    surveys = Survey.objects.filter(sent_at__gte=since, sent_at__lt=until)
    if team_id is not None:
        surveys = surveys.filter(ticket__team_id=team_id)
    answered = Q(answered_at__isnull=False)
    csat, ces, nps = Q(kind=SurveyKind.CSAT), Q(kind=SurveyKind.CES), Q(kind=SurveyKind.NPS)
    row = surveys.aggregate(
        sent=Count("id"),
        answered=Count("id", filter=answered),
        csat_answers=Count("id", filter=answered & csat),
        csat_satisfied=Count("id", filter=answered & csat & Q(score__gte=4)),
        ces_mean=Avg("score", filter=answered & ces),
        nps_answers=Count("id", filter=answered & nps),
        promoters=Count("id", filter=answered & nps & Q(score__gte=9)),
        detractors=Count("id", filter=answered & nps & Q(score__lte=6)),
    )
    return Scores(
        sent=row["sent"],
        answered=row["answered"],
        csat=_percent(row["csat_satisfied"], row["csat_answers"]),
        ces=round(row["ces_mean"], 2) if row["ces_mean"] is not None else None,
        nps=(
            round(100 * (row["promoters"] - row["detractors"]) / row["nps_answers"], 1)
            if row["nps_answers"]
            else None
        ),
    )


def _percent(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None
