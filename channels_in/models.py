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
            ),
            # An agent downloads the original .eml of a message.
            models.Index(fields=["message_id"], name="raw_inbound_message"),
            # The inboxes page lists each inbox's mail that could not be read.
            models.Index(
                fields=["inbox", "-received_at"],
                name="raw_inbound_failed",
                condition=models.Q(state="failed"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.channel} {self.provider_key} ({self.state})"


class Mailbox(models.Model):
    """Where IMAP polling of one email inbox stands, and how its last poll went.

    UIDs are only meaningful within one UIDVALIDITY: when the server changes
    it, polling starts over from the first message (Message-IDs keep that
    from storing anything twice).
    """

    inbox = models.OneToOneField("tickets.Inbox", on_delete=models.CASCADE, related_name="mailbox")
    uidvalidity = models.BigIntegerField(null=True, blank=True)
    last_uid = models.BigIntegerField(default=0)
    last_polled_at = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    failures = models.PositiveIntegerField(default=0)
    next_poll_at = models.DateTimeField(default=timezone.now)
    # A poll in progress holds the mailbox until then (a crashed poll lets go).
    leased_until = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"mailbox of inbox {self.inbox_id}"


class SuppressedAddress(models.Model):
    """An address that gets no automatic mail until `until` (it hard-bounced, it complained)."""

    address = models.CharField(max_length=320, unique=True)
    reason = models.CharField(max_length=500)
    until = models.DateTimeField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "suppressed addresses"

    def __str__(self) -> str:
        return self.address


class AutomaticMail(models.Model):
    """One automatic message sent to an address: the ledger the per-recipient caps count."""

    address = models.CharField(max_length=320)
    ticket_id = models.BigIntegerField()
    message_id = models.BigIntegerField(unique=True)
    sent_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["address", "sent_at"], name="automatic_mail_recent")]

    def __str__(self) -> str:
        return f"automatic mail to {self.address}"


class SmsOptOut(models.Model):
    """A number that texted STOP (or another opt-out keyword) to an SMS inbox.

    Nothing of ours goes to it from that inbox until it texts START. Twilio keeps
    its own list and refuses such sends too; ours lets the agent see why first.
    """

    inbox = models.ForeignKey("tickets.Inbox", on_delete=models.CASCADE, related_name="+")
    # E.164, as the identity stores it.
    phone = models.CharField(max_length=32)
    # The word they texted ("STOP", "UNSUBSCRIBE", ...), for the agent.
    keyword = models.CharField(max_length=20)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["inbox", "phone"], name="sms_opt_out_unique")
        ]

    def __str__(self) -> str:
        return f"{self.phone} opted out of inbox {self.inbox_id}"
