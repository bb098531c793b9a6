"""Surveys sent when a ticket is solved, and the customers' answers.

One Survey per ticket, at most: the row is also what makes sending idempotent.
Rules about one survey (its scale, whether it still takes an answer) are
methods here; the workflow is in surveys.py, the choice of what to send in policy.py.
"""

from __future__ import annotations

from datetime import datetime

from django.db import models
from django.db.models import Q
from django.utils.timezone import now
from django.utils.translation import gettext_lazy as _

from tickets.models import Channel, Customer, Inbox, Language, Message, Ticket


class SurveyKind(models.TextChoices):
    CSAT = "csat", _("Satisfaction (CSAT)")
    CES = "ces", _("Effort (CES)")
    NPS = "nps", _("Recommendation (NPS)")


# The scores each kind takes, lowest first (CSAT 1–5, CES 1–7, NPS 0–10).
SCALES: dict[str, range] = {
    SurveyKind.CSAT: range(1, 6),
    SurveyKind.CES: range(1, 8),
    SurveyKind.NPS: range(0, 11),
}


class SurveyState(models.TextChoices):
    # Due some time after the ticket was solved (SURVEY_DELAY_MINUTES).
    SCHEDULED = "scheduled", _("Scheduled")
    SENT = "sent", _("Sent")
    # The policy sent none (skipped_reason says why).
    SKIPPED = "skipped", _("Not sent")


class Survey(models.Model):
    """One question to the customer of a solved ticket, on the ticket's channel.

    Scheduled when the ticket is solved, sent (or skipped, by the policy) when due.
    """

    ticket = models.OneToOneField(Ticket, on_delete=models.CASCADE, related_name="survey")
    # Kept on the row (and moved when customers merge) so the once-per-period
    # rule is one indexed lookup.
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="surveys", db_index=False
    )
    inbox = models.ForeignKey(
        Inbox, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    state = models.CharField(
        max_length=10, choices=SurveyState.choices, default=SurveyState.SCHEDULED
    )
    due_at = models.DateTimeField(default=now)
    skipped_reason = models.CharField(max_length=200, blank=True)
    # Chosen when it is sent.
    kind = models.CharField(_("survey"), max_length=8, choices=SurveyKind.choices, blank=True)
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices, blank=True)
    language = models.CharField(max_length=8, choices=Language.choices, default=Language.EN)
    # The automatic message that asked the question.
    message = models.OneToOneField(
        Message, null=True, blank=True, on_delete=models.SET_NULL, related_name="survey"
    )
    sent_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    score = models.PositiveSmallIntegerField(_("score"), null=True, blank=True)
    comment = models.TextField(_("comment"), blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    # Where the answer came from: "link" (the survey page), "sms", "messenger", "widget".
    answered_via = models.CharField(max_length=16, blank=True)
    # The customer's own message that carried the answer (an SMS digit).
    answer_message = models.ForeignKey(
        Message, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        indexes = [
            models.Index(fields=["customer", "-sent_at"], name="survey_customer_sent"),
            models.Index(
                fields=["due_at"],
                condition=Q(state="scheduled"),
                name="survey_due",
            ),
            # Dashboards: answers of a kind over a period.
            models.Index(
                fields=["kind", "answered_at"],
                condition=Q(answered_at__isnull=False),
                name="survey_answered",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} survey on ticket {self.ticket_id}"

    @property
    def scale(self) -> range:
        return SCALES[self.kind]

    def accepts(self, score: int) -> bool:
        return score in self.scale

    def is_open(self, at: datetime | None = None) -> bool:
        """Whether it still takes an answer: not answered and not expired."""
        return (
            self.state == SurveyState.SENT
            and self.answered_at is None
            and self.expires_at is not None
            and (at or now()) < self.expires_at
        )
