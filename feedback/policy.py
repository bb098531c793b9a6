"""Which survey, if any, the customer of a solved ticket gets.

The rules, in order (each settings.SURVEY_* is read from the environment):

1. surveys are on (SURVEY_ENABLED) and the ticket is still solved when the
   survey is due (SURVEY_DELAY_MINUTES after solving): a ticket reopened
   meanwhile, closed, or merged into another gets none;
2. a ticket tagged as spam (SURVEY_SKIP_TAGS, "spam" by default) gets none;
   "closed as spam" is a closed ticket, which never triggers a survey, or a
   solved one carrying that tag;
3. no customer gets more than one survey per SURVEY_PERIOD_DAYS;
4. the inbox may choose its kind (inbox.config["survey_kind"]: csat, ces,
   nps, or "none" to send nothing), else SURVEY_KIND (csat);
5. NPS asks about the relationship, not the ticket: a customer who has had a
   survey before and no NPS within SURVEY_NPS_EVERY_DAYS (0 = never) is
   asked NPS instead of the per-ticket kind.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings

from tickets.models import Status, Ticket

from .models import Survey, SurveyKind, SurveyState

NONE = "none"


@dataclass(frozen=True)
class Decision:
    kind: str | None
    # Why none is sent, for the log ("" when one is).
    reason: str = ""


def choose_survey(*, ticket: Ticket, now: datetime) -> Decision:
    """The survey kind for this solved ticket's customer now, or None with the reason."""
    if not settings.SURVEY_ENABLED:
        return Decision(None, "surveys are off")
    if ticket.merged_into_id:
        return Decision(None, "the ticket was merged")
    if ticket.status != Status.SOLVED:
        return Decision(None, f"the ticket is {ticket.status}, not solved")
    skip = {tag.lower() for tag in settings.SURVEY_SKIP_TAGS}
    if skip and ticket.tags.filter(name__in=skip).exists():
        return Decision(None, "the ticket is tagged as spam")
    configured = str((ticket.inbox.config or {}).get("survey_kind") or settings.SURVEY_KIND)
    if configured == NONE:
        return Decision(None, "the inbox sends no surveys")
    if configured not in SurveyKind.values:
        configured = SurveyKind.CSAT
    earlier = Survey.objects.filter(customer_id=ticket.customer_id, state=SurveyState.SENT)
    period = timedelta(days=settings.SURVEY_PERIOD_DAYS)
    if earlier.filter(sent_at__gt=now - period).exists():
        return Decision(None, "the customer had a survey within the period")
    if settings.SURVEY_NPS_EVERY_DAYS > 0 and configured != SurveyKind.NPS and earlier.exists():
        since = now - timedelta(days=settings.SURVEY_NPS_EVERY_DAYS)
        if not earlier.filter(kind=SurveyKind.NPS, sent_at__gt=since).exists():
            return Decision(SurveyKind.NPS)
    return Decision(configured)
