"""What the API reads and writes.

Serializers translate JSON to and from our models and check the shape of
input; the workflows in tickets/ decide everything else. Output serializers
only read what the views select_related/prefetch, so a page costs a fixed
number of queries whatever its size.
"""

from __future__ import annotations

import phonenumbers
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db.models import Q
from rest_framework import serializers

from channels_in.inboxes import GIVEN_SECRET_NAMES, SECRET_NAMES, webhook_path
from tickets.access import ROLES
from tickets.changes import MAX_TAGS
from tickets.hours import CalendarError, parse_calendar
from tickets.listing import SORTS, VIEWS
from tickets.models import (
    Attachment,
    Channel,
    Customer,
    Identity,
    IdentityKind,
    Inbox,
    Language,
    Message,
    Priority,
    Status,
    Team,
    Ticket,
    TimelineEvent,
)

STATUS_ANY = "any"
# Ids are 64-bit; a larger number would reach the database as an overflow error.
MAX_ID = 2**63 - 1


def id_field(**kwargs) -> serializers.IntegerField:
    return serializers.IntegerField(min_value=1, max_value=MAX_ID, **kwargs)


class StrictSerializer(serializers.Serializer):
    """Input with a field we do not know is refused, so a typo never passes silently."""

    def to_internal_value(self, data):
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                known = ", ".join(sorted(n for n, f in self.fields.items() if not f.read_only))
                raise serializers.ValidationError(
                    {name: [f"Unknown field; this request takes: {known}."] for name in unknown}
                )
        return super().to_internal_value(data)


# --- errors ----------------------------------------------------------------------


class ErrorSerializer(serializers.Serializer):
    error = serializers.CharField(help_text="A stable code, e.g. `invalid`, `not_found`.")
    detail = serializers.CharField(help_text="What went wrong, in a sentence for people.")
    fields = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text="Validation errors only: messages per field (nested fields dotted).",
    )


# --- people ----------------------------------------------------------------------


class UserSummarySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.SerializerMethodField()
    email = serializers.EmailField()

    def get_name(self, user) -> str:
        return user.get_full_name() or user.get_username()


class TeamSerializer(serializers.ModelSerializer):
    class Meta:
        model = Team
        fields = ["id", "name"]


# --- customers -------------------------------------------------------------------


class IdentitySerializer(serializers.ModelSerializer):
    class Meta:
        model = Identity
        fields = ["id", "kind", "value", "verified", "created_at"]


class CustomerSerializer(serializers.ModelSerializer):
    identities = IdentitySerializer(many=True, read_only=True)
    tags = serializers.SlugRelatedField(many=True, read_only=True, slug_field="name")
    merged_into = serializers.PrimaryKeyRelatedField(
        read_only=True, help_text="Set when this customer was merged into another."
    )

    class Meta:
        model = Customer
        fields = [
            "id",
            "name",
            "company",
            "locale",
            "timezone",
            "attributes",
            "tags",
            "identities",
            "created_at",
            "last_seen_at",
            "merged_into",
        ]


class CustomerSummarySerializer(serializers.ModelSerializer):
    class Meta:
        model = Customer
        fields = ["id", "name", "company"]


def clean_identity_value(kind: str, value: str) -> str:
    """The stored form of an address or number; a malformed one is a field error."""
    value = value.strip()
    if kind == IdentityKind.EMAIL:
        try:
            validate_email(value)
        except DjangoValidationError as exc:
            raise serializers.ValidationError({"value": ["Enter a valid email address."]}) from exc
    elif kind == IdentityKind.PHONE:
        # Providers report numbers in E.164 (+48600100200); store them the same way.
        try:
            number = phonenumbers.parse(value, None)
            valid = phonenumbers.is_possible_number(number)
        except phonenumbers.NumberParseException:
            valid = False
        if not valid:
            raise serializers.ValidationError(
                {"value": ["Enter the number in international form, e.g. +48 600 100 200."]}
            )
        value = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return Identity.normalize(kind, value)


class IdentityInputSerializer(StrictSerializer):
    kind = serializers.ChoiceField(choices=IdentityKind.choices)
    value = serializers.CharField(max_length=320)

    def validate(self, attrs):
        attrs["value"] = clean_identity_value(attrs["kind"], attrs["value"])
        return attrs


class NewCustomerIdentitySerializer(IdentityInputSerializer):
    name = serializers.CharField(max_length=200, required=False, default="", allow_blank=True)


class CustomerListQuerySerializer(serializers.Serializer):
    q = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=200,
        help_text="Search in name, company and identity values (email, phone, ...).",
    )


class CustomerMergeSerializer(StrictSerializer):
    source = id_field(
        help_text="The customer to merge into this one; it keeps its id as a pointer."
    )


# --- messages and timeline ---------------------------------------------------------


class AttachmentSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()

    class Meta:
        model = Attachment
        fields = ["id", "filename", "content_type", "size", "url"]

    def get_url(self, attachment) -> str:
        return attachment.file.url


class MessageSerializer(serializers.ModelSerializer):
    author = UserSummarySerializer(read_only=True, allow_null=True)
    text = serializers.CharField(source="body_text", read_only=True)
    html = serializers.CharField(source="body_html", read_only=True)
    attachments = AttachmentSerializer(many=True, read_only=True)

    class Meta:
        model = Message
        fields = [
            "id",
            "ticket",
            "direction",
            "author_kind",
            "author",
            "channel",
            "is_note",
            "subject",
            "text",
            "html",
            "attachments",
            "delivery_state",
            "delivery_error",
            "is_automated",
            "external_id",
            "sent_at",
            "created_at",
        ]


class TicketSummarySerializer(serializers.ModelSerializer):
    class Meta:
        model = Ticket
        fields = ["id", "reference", "subject", "status", "last_channel"]


class TimelineEventSerializer(serializers.ModelSerializer):
    actor = UserSummarySerializer(read_only=True, allow_null=True)
    ticket = TicketSummarySerializer(read_only=True, allow_null=True)
    message = MessageSerializer(read_only=True, allow_null=True)

    class Meta:
        model = TimelineEvent
        fields = ["id", "kind", "created_at", "actor", "ticket", "message", "data"]


class TimelineQuerySerializer(serializers.Serializer):
    before = id_field(required=False, help_text="Only events older than this event id.")


class TimelinePageSerializer(serializers.Serializer):
    next = serializers.URLField(allow_null=True, help_text="The next (older) page, or null.")
    next_before = serializers.IntegerField(
        allow_null=True, help_text="The `before` value of the next page, or null."
    )
    results = TimelineEventSerializer(many=True)


# --- tickets ---------------------------------------------------------------------


class TicketSerializer(serializers.ModelSerializer):
    customer = CustomerSummarySerializer(read_only=True)
    assignee = UserSummarySerializer(read_only=True, allow_null=True)
    team = TeamSerializer(read_only=True, allow_null=True)
    tags = serializers.SlugRelatedField(many=True, read_only=True, slug_field="name")

    class Meta:
        model = Ticket
        fields = [
            "id",
            "reference",
            "subject",
            "status",
            "priority",
            "customer",
            "inbox",
            "assignee",
            "team",
            "tags",
            "last_channel",
            "preview",
            "created_at",
            "updated_at",
            "last_activity_at",
            "first_response_at",
            "solved_at",
            "last_customer_message_at",
            "last_agent_message_at",
            "merged_into",
            "follows",
        ]


class TicketListQuerySerializer(serializers.Serializer):
    view = serializers.ChoiceField(choices=VIEWS, default="all")
    status = serializers.CharField(
        required=False,
        help_text=(
            "Comma-separated statuses (" + ", ".join(Status.values) + f"), or `{STATUS_ANY}`. "
            "Default: the open ones (new, open, pending, on_hold)."
        ),
    )
    channel = serializers.ChoiceField(choices=Channel.choices, required=False)
    priority = serializers.ChoiceField(choices=Priority.choices, required=False)
    tag = serializers.CharField(required=False, max_length=50)
    inbox = id_field(required=False)
    q = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=200,
        help_text="A ticket number (#123), or text in subject, customer name or identity.",
    )
    sort = serializers.ChoiceField(choices=list(SORTS), default="recent")
    cursor = serializers.CharField(required=False, help_text="From the `next` link.")

    def validate_status(self, value: str) -> tuple[str, ...]:
        names = [s.strip() for s in value.split(",") if s.strip()]
        if names == [STATUS_ANY]:
            return ()
        unknown = [s for s in names if s not in Status.values]
        if unknown or not names:
            raise serializers.ValidationError(
                f"Unknown status {', '.join(unknown) or '(empty)'}; use "
                f"{', '.join(Status.values)} or {STATUS_ANY}."
            )
        return tuple(names)


class TicketPageSerializer(serializers.Serializer):
    next = serializers.URLField(allow_null=True)
    results = TicketSerializer(many=True)


class TicketCreateSerializer(StrictSerializer):
    customer = id_field(required=False, help_text="An existing customer's id; or give `identity`.")
    identity = NewCustomerIdentitySerializer(
        required=False,
        help_text="How to reach the customer; the customer is found by it or created.",
    )
    inbox = id_field(help_text="The inbox the ticket belongs to.")
    subject = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")
    text = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        help_text="The customer's request, in their words: the ticket's first message.",
    )
    html = serializers.CharField(required=False, allow_blank=True, default="")
    priority = serializers.ChoiceField(choices=Priority.choices, required=False)

    def validate(self, attrs):
        if ("customer" in attrs) == ("identity" in attrs):
            raise serializers.ValidationError(
                "Give either `customer` (an id) or `identity` ({kind, value, name}), not both."
            )
        if not (attrs["text"].strip() or attrs["html"].strip()):
            raise serializers.ValidationError({"text": ["Give the first message's text or html."]})
        return attrs


def _assignable_users():
    return (
        get_user_model()
        .objects.filter(is_active=True)
        .filter(Q(is_superuser=True) | Q(groups__name__in=ROLES))
        .distinct()
    )


class TicketUpdateSerializer(StrictSerializer):
    status = serializers.ChoiceField(choices=Status.choices, required=False)
    priority = serializers.ChoiceField(choices=Priority.choices, required=False)
    assignee = serializers.PrimaryKeyRelatedField(
        queryset=_assignable_users(),
        required=False,
        allow_null=True,
        help_text="An agent's user id, or null to unassign.",
        error_messages={"does_not_exist": "No active agent has id {pk_value}."},
    )
    team = serializers.PrimaryKeyRelatedField(
        queryset=Team.objects.all(),
        required=False,
        allow_null=True,
        error_messages={"does_not_exist": "No team has id {pk_value}."},
    )
    tags = serializers.ListField(
        child=serializers.CharField(max_length=50),
        required=False,
        max_length=MAX_TAGS,
        help_text="The whole new set of tags (replaces the current ones).",
    )

    def validate(self, attrs):
        if not attrs:
            raise serializers.ValidationError(
                "Nothing to change; give status, priority, assignee, team or tags."
            )
        return attrs


class ReplySerializer(StrictSerializer):
    text = serializers.CharField(required=False, allow_blank=True, default="")
    html = serializers.CharField(required=False, allow_blank=True, default="")
    channel = serializers.ChoiceField(
        choices=Channel.choices,
        required=False,
        help_text="Send on this channel instead of the ticket's last one.",
    )
    status = serializers.ChoiceField(
        choices=Status.choices, required=False, help_text="Set the ticket's status with the reply."
    )
    tag = serializers.CharField(
        required=False,
        max_length=40,
        help_text=(
            "A channel's permission to send outside its normal rules: Messenger's `HUMAN_AGENT` "
            "message tag, for a reply more than 24 hours (and at most 7 days) after the "
            "customer's last message. Without it such a reply is refused with the reason."
        ),
    )

    def validate(self, attrs):
        if not (attrs["text"].strip() or attrs["html"].strip()):
            raise serializers.ValidationError({"text": ["A reply needs text or html."]})
        return attrs


class NoteSerializer(StrictSerializer):
    text = serializers.CharField()


class TicketMergeSerializer(StrictSerializer):
    into = id_field(help_text="The ticket that lives on; this one is closed and points to it.")


class TicketSplitSerializer(StrictSerializer):
    messages = serializers.ListField(
        child=id_field(),
        min_length=1,
        max_length=1000,
        help_text="Ids of this ticket's messages to move into a new ticket.",
    )
    subject = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


# --- inboxes ---------------------------------------------------------------------


class InboxSerializer(serializers.ModelSerializer):
    """An inbox as anyone may see it: never its secrets."""

    team = TeamSerializer(read_only=True, allow_null=True)
    webhook_url = serializers.SerializerMethodField(
        help_text="Where the provider posts (the script URL for a widget)."
    )

    class Meta:
        model = Inbox
        fields = [
            "id",
            "name",
            "channel",
            "key",
            "language",
            "team",
            "config",
            "is_active",
            "created_at",
            "webhook_url",
        ]

    def get_webhook_url(self, inbox) -> str:
        return webhook_path(inbox)


class InboxCreateSerializer(StrictSerializer):
    channel = serializers.ChoiceField(choices=Channel.choices)
    name = serializers.CharField(max_length=100)
    language = serializers.ChoiceField(choices=Language.choices, default=Language.EN)
    team = serializers.PrimaryKeyRelatedField(
        queryset=Team.objects.all(),
        required=False,
        allow_null=True,
        default=None,
        error_messages={"does_not_exist": "No team has id {pk_value}."},
    )
    config = serializers.DictField(required=False, default=dict)
    secrets = serializers.DictField(
        child=serializers.CharField(),
        required=False,
        default=dict,
        help_text="The provider's own secrets (e.g. Twilio's auth_token); others are generated.",
    )

    def validate_config(self, config: dict) -> dict:
        # A calendar is checked when saved, not when a customer is waiting.
        if config.get("business_hours") is not None:
            try:
                parse_calendar(config["business_hours"])
            except CalendarError as exc:
                raise serializers.ValidationError(f"business_hours: {exc}") from None
        if config.get("acknowledgement") is not None:
            from tickets.acknowledge import TemplateError, validate_config

            try:
                validate_config(config["acknowledgement"])
            except TemplateError as exc:
                raise serializers.ValidationError(f"acknowledgement: {exc}") from None
        return config

    def validate(self, attrs):
        allowed = SECRET_NAMES[attrs["channel"]] + GIVEN_SECRET_NAMES.get(attrs["channel"], ())
        unknown = sorted(set(attrs["secrets"]) - set(allowed))
        if unknown:
            raise serializers.ValidationError(
                {
                    "secrets": [
                        f"A {attrs['channel']} inbox has no secret {', '.join(unknown)}; "
                        f"it takes {', '.join(allowed)}."
                    ]
                }
            )
        return attrs


class InboxCreatedSerializer(InboxSerializer):
    secrets = serializers.SerializerMethodField(
        help_text="Shown in this answer only; store them now. Secrets you gave are not echoed."
    )

    def get_secrets(self, inbox: Inbox) -> dict[str, str]:
        return {k: v for k, v in inbox.secrets.items() if k in SECRET_NAMES[inbox.channel]}

    class Meta(InboxSerializer.Meta):
        fields = [*InboxSerializer.Meta.fields, "secrets"]


class CursorPageSerializer(serializers.Serializer):
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)


class CustomerPageSerializer(CursorPageSerializer):
    results = CustomerSerializer(many=True)


class MessagePageSerializer(CursorPageSerializer):
    results = MessageSerializer(many=True)


class InboxPageSerializer(CursorPageSerializer):
    results = InboxSerializer(many=True)
