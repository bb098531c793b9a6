from django.db import models
from django.utils import timezone


class RawInbound(models.Model):
    """A provider payload exactly as it arrived, committed before we answer 2xx.

    Processing (parse + ingest) happens after; a payload that fails stays here
    with its error for an admin to inspect and replay.
    """

    class State(models.TextChoices):
        RECEIVED = "received", "Received"
        PROCESSED = "processed", "Processed"
        FAILED = "failed", "Failed"
        IGNORED = "ignored", "Ignored"  # e.g. a delivery receipt with nothing to store

    inbox = models.ForeignKey("tickets.Inbox", on_delete=models.CASCADE, related_name="raw_inbound")
    channel = models.CharField(max_length=16)
    # The provider's idempotency key (Message-ID, MessageSid, mid, client id).
    provider_key = models.CharField(max_length=255)
    body = models.BinaryField()
    content_type = models.CharField(max_length=100, blank=True)
    meta = models.JSONField(default=dict, blank=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.RECEIVED)
    error = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    message_id = models.BigIntegerField(null=True, blank=True)
    ticket_id = models.BigIntegerField(null=True, blank=True)
    received_at = models.DateTimeField(default=timezone.now)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["inbox", "provider_key"], name="raw_inbound_unique_key")
        ]
        indexes = [
            models.Index(
                fields=["state", "received_at"],
                name="raw_inbound_pending",
                condition=models.Q(state="received"),
            )
        ]

    def __str__(self) -> str:
        return f"{self.channel} {self.provider_key} ({self.state})"
