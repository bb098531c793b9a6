"""Customers, their identities, tickets, messages and the one timeline.

Rules about one row live here as methods; workflows over several models live
in verb-named modules (ingest.py, replies.py, merge.py, changes.py).
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.timezone import now
from django.utils.translation import gettext_lazy as _

from .phones import to_e164


class Channel(models.TextChoices):
    EMAIL = "email", _("Email")
    WIDGET = "widget", _("Chat")
    SMS = "sms", _("SMS")
    MESSENGER = "messenger", _("Messenger")
    # For operators' scripts and tests: behaves like a channel, delivers nowhere.
    TEST = "test", _("Test")


class IdentityKind(models.TextChoices):
    EMAIL = "email", _("Email address")
    PHONE = "phone", _("Phone")
    MESSENGER = "messenger", _("Messenger ID")
    WIDGET = "widget", _("Chat visitor")
    TEST = "test", _("Test address")


# Which identity a channel reaches a customer by.
IDENTITY_KIND_FOR_CHANNEL: dict[str, str] = {
    Channel.EMAIL: IdentityKind.EMAIL,
    Channel.WIDGET: IdentityKind.WIDGET,
    Channel.SMS: IdentityKind.PHONE,
    Channel.MESSENGER: IdentityKind.MESSENGER,
    Channel.TEST: IdentityKind.TEST,
}


class Language(models.TextChoices):
    EN = "en", "English"
    PL = "pl", "Polski"
    CS = "cs", "Čeština"


class Team(models.Model):
    name = models.CharField(_("name"), max_length=100, unique=True)
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, related_name="helpdesk_teams", blank=True
    )
    lead = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Tag(models.Model):
    name = models.CharField(max_length=50, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Customer(models.Model):
    name = models.CharField(_("name"), max_length=200, blank=True)
    company = models.CharField(_("company"), max_length=200, blank=True)
    locale = models.CharField(
        _("language"), max_length=8, choices=Language.choices, default=Language.EN
    )
    timezone = models.CharField(_("time zone"), max_length=64, blank=True)
    tags = models.ManyToManyField(Tag, blank=True, related_name="customers")
    # Free-form facts from elsewhere (order ids from a CRM, plan, ...).
    attributes = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=now)
    last_seen_at = models.DateTimeField(null=True, blank=True)
    # A customer merged into another keeps its row so old links still resolve.
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="merged_from"
    )

    class Meta:
        indexes = [models.Index(fields=["name"])]

    def __str__(self) -> str:
        return self.name or f"#{self.pk}"

    @property
    def display_name(self) -> str:
        return self.name or _("Customer #%(id)s") % {"id": self.pk}

    def live(self) -> Customer:
        """The customer this one was merged into, or itself."""
        customer = self
        seen = set()
        while customer.merged_into_id and customer.pk not in seen:
            seen.add(customer.pk)
            customer = customer.merged_into  # type: ignore[assignment]
        return customer


class Identity(models.Model):
    """One way to reach a customer: an address, a number, a platform id."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="identities")
    kind = models.CharField(max_length=16, choices=IdentityKind.choices)
    value = models.CharField(max_length=320)
    # Verified identities prove who the customer is (a signed widget identify,
    # a confirmed phone). Unverified ones are claims.
    verified = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["kind", "value"], name="identity_unique_kind_value")
        ]
        verbose_name_plural = "identities"

    def __str__(self) -> str:
        return f"{self.kind}:{self.value}"

    @staticmethod
    def normalize(kind: str, value: str) -> str:
        """The one stored form of a value, so the same person is found however it was written.

        Phone numbers become E.164; one that is not a valid number stays as written
        (link_identity refuses it; a provider's own sender id is kept as it came).
        """
        value = value.strip()
        if kind == IdentityKind.EMAIL:
            return value.lower()
        if kind == IdentityKind.PHONE:
            return to_e164(value) or value
        return value


def new_inbox_key() -> str:
    return secrets.token_urlsafe(18)


class Inbox(models.Model):
    """One configured channel account: a mailbox, a number, a page, a widget."""

    name = models.CharField(_("name"), max_length=100)
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)
    # Public and random: it appears in webhook URLs and the widget snippet.
    key = models.CharField(max_length=40, unique=True, default=new_inbox_key)
    # Provider secrets. Shown once at creation, never again (not in logs, API, admin lists).
    secrets = models.JSONField(default=dict, blank=True)
    language = models.CharField(
        _("language"), max_length=8, choices=Language.choices, default=Language.EN
    )
    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="inboxes"
    )
    # Channel-specific, non-secret configuration (address, number, colours, ...).
    config = models.JSONField(default=dict, blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=now)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "inboxes"

    def __str__(self) -> str:
        return f"{self.name} ({self.get_channel_display()})"

    def __repr__(self) -> str:
        # Never let secrets reach a log line through repr().
        return f"<Inbox {self.pk} {self.channel} {self.name!r}>"


class Status(models.TextChoices):
    NEW = "new", _("New")
    OPEN = "open", _("Open")
    PENDING = "pending", _("Pending")
    ON_HOLD = "on_hold", _("On hold")
    SOLVED = "solved", _("Solved")
    CLOSED = "closed", _("Closed")


OPEN_STATUSES = (Status.NEW, Status.OPEN, Status.PENDING, Status.ON_HOLD)
# What the inbox lists by default (tickets.listing): open and not merged away.
LISTED_OPEN = Q(status__in=OPEN_STATUSES, merged_into__isnull=True)


class Priority(models.IntegerChoices):
    LOW = 1, _("Low")
    NORMAL = 2, _("Normal")
    HIGH = 3, _("High")
    URGENT = 4, _("Urgent")


class SlaPolicy(models.Model):
    """Targets for answering and resolving the tickets that match its conditions.

    Policies are tried in `position` order; the first whose conditions all hold
    applies (an empty condition matches anything). Clocks count open time of
    the policy's calendar (tickets/hours.py; empty: always open) and stop while
    a ticket is pending or on hold. tickets/sla.py keeps the due times.
    """

    name = models.CharField(_("name"), max_length=100)
    position = models.PositiveSmallIntegerField(_("order"), default=0)
    is_active = models.BooleanField(_("active"), default=True)
    # Conditions as plain lists, so matching a ticket takes one query for all policies.
    inbox_ids = models.JSONField(_("inboxes"), default=list, blank=True)
    channels = models.JSONField(_("channels"), default=list, blank=True)
    priorities = models.JSONField(_("priorities"), default=list, blank=True)
    customer_tags = models.JSONField(_("customer tags"), default=list, blank=True)
    # Targets in minutes of open time; empty: that clock does not run.
    first_response_minutes = models.PositiveIntegerField(
        _("first response (minutes)"), null=True, blank=True
    )
    next_response_minutes = models.PositiveIntegerField(
        _("next response (minutes)"), null=True, blank=True
    )
    resolution_minutes = models.PositiveIntegerField(
        _("resolution (minutes)"), null=True, blank=True
    )
    warn_percent = models.PositiveSmallIntegerField(
        _("warn at (percentage of the target)"), default=80
    )
    # tickets/hours.py's stored form; validated by parse_calendar when saved.
    calendar = models.JSONField(_("business hours"), default=dict, blank=True)
    escalate_priority = models.PositiveSmallIntegerField(
        _("on breach, raise priority to"), choices=Priority.choices, null=True, blank=True
    )
    escalate_team = models.ForeignKey(
        Team,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("on breach, reassign to team"),
    )
    notify_by_email = models.BooleanField(_("also notify by email"), default=False)
    updated_at = models.DateTimeField(default=now)

    class Meta:
        ordering = ["position", "id"]
        verbose_name = _("SLA policy")
        verbose_name_plural = _("SLA policies")

    def __str__(self) -> str:
        return self.name

    @property
    def priority_labels(self) -> list[str]:
        """The priorities it applies to, as agents know them ("Urgent")."""
        return [str(Priority(value).label) for value in self.priorities if value in Priority.values]


class Ticket(models.Model):
    """A conversation with one customer, on one or more channels."""

    # db_index=False here and below: a composite index in Meta starts with the column.
    customer = models.ForeignKey(
        Customer, on_delete=models.PROTECT, related_name="tickets", db_index=False
    )
    inbox = models.ForeignKey(Inbox, on_delete=models.PROTECT, related_name="tickets")
    # The inbox of the latest agent reply, when an agent continued the
    # conversation elsewhere (e.g. by SMS): the customer's answer there threads here.
    reply_inbox = models.ForeignKey(
        Inbox, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    subject = models.CharField(_("subject"), max_length=300, blank=True)
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.NEW
    )
    priority = models.PositiveSmallIntegerField(
        _("priority"), choices=Priority.choices, default=Priority.NORMAL
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_tickets",
        verbose_name=_("assignee"),
        db_index=False,
    )
    team = models.ForeignKey(
        Team,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="tickets",
        verbose_name=_("team"),
        db_index=False,
    )
    tags = models.ManyToManyField(Tag, blank=True, related_name="tickets")
    last_channel = models.CharField(max_length=16, choices=Channel.choices)
    # The latest message's first words, so the inbox list needs no join.
    preview = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=now)
    updated_at = models.DateTimeField(default=now)
    last_activity_at = models.DateTimeField(default=now)
    first_response_at = models.DateTimeField(null=True, blank=True)
    solved_at = models.DateTimeField(null=True, blank=True)
    last_customer_message_at = models.DateTimeField(null=True, blank=True)
    last_agent_message_at = models.DateTimeField(null=True, blank=True)
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="merged_from"
    )
    # A message after the reopen window starts a new ticket linked to the old one.
    follows = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="followed_by"
    )
    # A chat whose visitor was offered help-centre articles and has not asked for a
    # person yet (tickets/handoff.py): not routed to an agent until they do.
    awaiting_handoff = models.BooleanField(default=False)
    # Service levels (tickets/sla.py keeps these; nothing else writes them).
    sla_policy = models.ForeignKey(
        SlaPolicy,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("SLA policy"),
        db_index=False,
    )
    # When each running clock is due; empty when it does not run or is paused.
    first_response_due_at = models.DateTimeField(null=True, blank=True)
    next_response_due_at = models.DateTimeField(null=True, blank=True)
    resolution_due_at = models.DateTimeField(null=True, blank=True)
    # The oldest customer message no agent has answered yet: the next-response clock's start.
    sla_waiting_since = models.DateTimeField(null=True, blank=True)
    # Pending / on-hold spells as [[start, end or null], ...] (ISO): clocks stop in them.
    sla_pauses = models.JSONField(default=list, blank=True)
    # Per clock (tickets.sla.Clock bits): warned / breached already, so nothing goes twice.
    sla_warned = models.PositiveSmallIntegerField(default=0)
    sla_breached = models.PositiveSmallIntegerField(default=0)
    # The next moment the SLA sweep has something to do here (a warning or a breach).
    sla_check_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            # The SLA sweep: a range scan over tickets with something due, however many
            # tickets have nothing due (most have no running clock: no entry at all).
            models.Index(
                fields=["sla_check_at"],
                condition=Q(sla_check_at__isnull=False),
                name="ticket_sla_check",
            ),
            models.Index(
                fields=["sla_policy"],
                condition=Q(sla_policy__isnull=False),
                name="ticket_sla_policy",
            ),
            # One index per inbox view, each ending in the sort key, so a page is
            # an index range scan whatever the table size.
            models.Index(fields=["status", "-last_activity_at", "-id"], name="ticket_status_act"),
            models.Index(
                fields=["assignee", "status", "-last_activity_at", "-id"],
                name="ticket_assignee_act",
            ),
            models.Index(
                fields=["team", "status", "-last_activity_at", "-id"], name="ticket_team_act"
            ),
            models.Index(fields=["-last_activity_at", "-id"], name="ticket_act"),
            models.Index(fields=["customer", "inbox", "status"], name="ticket_customer_inbox"),
            # The inbox views show open tickets, a few percent of a large table (most
            # are solved or closed). Partial indexes keep each of those views an
            # ordered range scan over open tickets only: no sort, no skipping over
            # closed rows, whatever the sort direction (bench/RESULTS.md).
            models.Index(
                fields=["-last_activity_at", "-id"], condition=LISTED_OPEN, name="ticket_open_act"
            ),
            models.Index(
                fields=["assignee", "-last_activity_at", "-id"],
                condition=LISTED_OPEN,
                name="ticket_open_assignee_act",
            ),
            models.Index(
                fields=["-last_activity_at", "-id"],
                condition=LISTED_OPEN & Q(assignee__isnull=True),
                name="ticket_open_unassigned_act",
            ),
            models.Index(
                fields=["team", "-last_activity_at", "-id"],
                condition=LISTED_OPEN,
                name="ticket_open_team_act",
            ),
            # The other inbox sorts (tickets.listing.SORTS) over all open tickets.
            models.Index(
                fields=["-priority", "-last_activity_at", "-id"],
                condition=LISTED_OPEN,
                name="ticket_open_priority",
            ),
            models.Index(
                fields=["-created_at", "-id"], condition=LISTED_OPEN, name="ticket_open_created"
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.subject}"

    @property
    def reference(self) -> str:
        """The number customers quote: shown in subjects and replies."""
        return f"#{self.pk}"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    def can_reopen(self, at=None) -> bool:
        """A solved ticket takes the customer's next message within the reopen window."""
        if self.status != Status.SOLVED or self.merged_into_id:
            return False
        at = at or now()
        solved_at = self.solved_at or self.updated_at
        return at - solved_at <= timedelta(days=settings.REOPEN_WINDOW_DAYS)

    def set_status(self, status: str, at=None) -> None:
        at = at or now()
        self.status = status
        if status == Status.SOLVED:
            self.solved_at = at
        elif status in OPEN_STATUSES:
            self.solved_at = None
        self.updated_at = at


class TicketParticipant(models.Model):
    """Someone besides the ticket's customer who takes part (a colleague on Cc).

    Their messages thread into the ticket; a stranger's never do silently.
    """

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="participants")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(default=now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["ticket", "customer"], name="ticket_participant_unique")
        ]

    def __str__(self) -> str:
        return f"customer {self.customer_id} on ticket {self.ticket_id}"


class Direction(models.TextChoices):
    IN = "in", _("Inbound")
    OUT = "out", _("Outbound")


class AuthorKind(models.TextChoices):
    CUSTOMER = "customer", _("Customer")
    AGENT = "agent", _("Agent")
    SYSTEM = "system", _("System")


class Delivery(models.TextChoices):
    RECEIVED = "received", _("Received")
    PENDING = "pending", _("Queued")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    DELIVERED = "delivered", _("Delivered")
    READ = "read", _("Read")
    FAILED = "failed", _("Failed")
    # The send started but we never learned its outcome (the worker died):
    # an agent decides; we never send twice on a guess.
    UNKNOWN = "unknown", _("Unknown")
    # Automatic mail held back on purpose (loop guard, bounced address, cap).
    SUPPRESSED = "suppressed", _("Not sent")


class Message(models.Model):
    """A message in or out, or an internal note. Outbound rows are the outbox."""

    # Indexed by message_ticket (ticket, id) in Meta.
    ticket = models.ForeignKey(
        Ticket, on_delete=models.CASCADE, related_name="messages", db_index=False
    )
    inbox = models.ForeignKey(Inbox, on_delete=models.PROTECT, related_name="messages")
    direction = models.CharField(max_length=3, choices=Direction.choices)
    author_kind = models.CharField(max_length=10, choices=AuthorKind.choices)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="messages",
    )
    channel = models.CharField(max_length=16, choices=Channel.choices)
    is_note = models.BooleanField(default=False)
    subject = models.CharField(max_length=300, blank=True)
    body_text = models.TextField(blank=True)
    # Always sanitized (nh3) before it is stored; templates may render it as is.
    body_html = models.TextField(blank=True)
    # The provider's id for the message (Message-ID, MessageSid, mid, client id).
    external_id = models.CharField(max_length=255, null=True, blank=True)
    # A conversation id some clients keep across a thread (Outlook's Thread-Index
    # root): the last way to find the ticket when every other hint is missing.
    thread_key = models.CharField(max_length=100, null=True, blank=True)
    # For outbound: the key that makes a reply request safe to repeat.
    idempotency_key = models.CharField(max_length=100, null=True, blank=True)
    delivery_state = models.CharField(
        max_length=10, choices=Delivery.choices, default=Delivery.RECEIVED
    )
    delivery_error = models.CharField(max_length=500, blank=True)
    send_attempts = models.PositiveSmallIntegerField(default=0)
    # Automatic mail (auto-replies, bounces) is stored but never answered automatically.
    is_automated = models.BooleanField(default=False)
    # Where the customer's message was sent from, in the provider's words.
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=now)
    meta = models.JSONField(default=dict, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["inbox", "external_id"],
                condition=Q(external_id__isnull=False),
                name="message_unique_external_id",
            ),
            models.UniqueConstraint(
                fields=["idempotency_key"],
                condition=Q(idempotency_key__isnull=False),
                name="message_unique_idempotency_key",
            ),
        ]
        indexes = [
            models.Index(fields=["ticket", "id"], name="message_ticket"),
            models.Index(
                fields=["delivery_state", "created_at"],
                name="message_outbox",
                condition=Q(delivery_state__in=["pending", "sending"]),
            ),
            models.Index(
                fields=["inbox", "thread_key"],
                name="message_thread_key",
                condition=Q(thread_key__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.direction} #{self.pk} on ticket {self.ticket_id}"

    @property
    def is_inbound(self) -> bool:
        return self.direction == Direction.IN


def attachment_path(instance: Attachment, filename: str) -> str:
    return f"attachments/{now():%Y/%m}/{secrets.token_hex(8)}/{filename}"


class Attachment(models.Model):
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(upload_to=attachment_path, max_length=300)
    filename = models.CharField(max_length=255)
    content_type = models.CharField(max_length=100, default="application/octet-stream")
    size = models.PositiveBigIntegerField(default=0)
    # An image shown inside the message body (a mail's cid: reference).
    content_id = models.CharField(max_length=255, blank=True)

    def __str__(self) -> str:
        return self.filename


class EventKind(models.TextChoices):
    MESSAGE = "message", _("Message")
    NOTE = "note", _("Note")
    TICKET_CREATED = "ticket_created", _("Ticket created")
    STATUS = "status", _("Status changed")
    ASSIGNEE = "assignee", _("Assignee changed")
    PRIORITY = "priority", _("Priority changed")
    TAGS = "tags", _("Tags changed")
    TEAM = "team", _("Team changed")
    REOPENED = "reopened", _("Ticket reopened")
    TICKET_MERGED = "ticket_merged", _("Tickets merged")
    TICKET_SPLIT = "ticket_split", _("Ticket split")
    CUSTOMER_MERGED = "customer_merged", _("Customers merged")
    IDENTITY_LINKED = "identity_linked", _("Identity linked")
    PARTICIPANT_ADDED = "participant_added", _("Participant added")
    SELF_SERVICE = "self_service", _("Self-service")
    CONTINUED_BY_EMAIL = "continued_by_email", _("Continued by email")
    # Automation (issue 7): an acknowledgement sent, SLA clocks, surveys.
    ACKNOWLEDGED = "acknowledged", _("Acknowledgement sent")
    SLA_WARNING = "sla_warning", _("SLA target nearing")
    SLA_BREACHED = "sla_breached", _("SLA target missed")
    SLA_ESCALATED = "sla_escalated", _("Escalated")
    SURVEY_SENT = "survey_sent", _("Survey sent")
    SURVEY_ANSWERED = "survey_answered", _("Survey answered")


class TimelineEvent(models.Model):
    """Append-only history of a customer across every channel and ticket.

    One indexed range query on (customer, id) renders a page of it.
    """

    # Both indexed by timeline_customer and timeline_ticket in Meta.
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="events", db_index=False
    )
    ticket = models.ForeignKey(
        Ticket,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="events",
        db_index=False,
    )
    kind = models.CharField(max_length=20, choices=EventKind.choices)
    message = models.ForeignKey(
        Message, null=True, blank=True, on_delete=models.CASCADE, related_name="events"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=now)

    class Meta:
        indexes = [
            models.Index(fields=["customer", "-id"], name="timeline_customer"),
            models.Index(fields=["ticket", "-id"], name="timeline_ticket"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} for customer {self.customer_id}"
