"""Forms of the agent UI. They validate input and translate it into the
keyword arguments of the tickets/ workflow functions; they save nothing."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

import phonenumbers
from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Q
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext_lazy as _

from channels_in.adapters.messenger import MAX_TEXT_CHARS as MESSENGER_MAX_CHARS
from channels_in.adapters.sms import MAX_TEXT_CHARS as SMS_MAX_CHARS
from channels_in.base import Reach
from tickets.access import ROLES
from tickets.changes import MAX_TAGS, normalize_tag
from tickets.listing import MAX_PAGE_SIZE, PAGE_SIZE, SORTS, VIEWS, TicketFilters
from tickets.models import (
    OPEN_STATUSES,
    Channel,
    IdentityKind,
    Inbox,
    Priority,
    Status,
    Team,
    Ticket,
)
from tickets.replies import MAX_BODY

from .models import Availability

ANY_STATUS = "any"

VIEW_LABELS = {
    "mine": _("Mine"),
    "unassigned": _("Unassigned"),
    "teams": _("My teams"),
    "all": _("All"),
}
SORT_LABELS = {
    "recent": _("Recent activity"),
    "waiting": _("Waiting longest"),
    "newest": _("Newest"),
    "priority": _("Priority"),
}


def new_idempotency_key() -> str:
    return secrets.token_urlsafe(24)


class InboxFilterForm(forms.Form):
    """The inbox's query string. Unknown values fall back to the defaults, never an error."""

    view = forms.ChoiceField(
        label=_("View"), required=False, choices=[(v, VIEW_LABELS[v]) for v in VIEWS]
    )
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[("", _("Unsolved")), *Status.choices, (ANY_STATUS, _("Any status"))],
    )
    channel = forms.ChoiceField(
        label=_("Channel"), required=False, choices=[("", _("Any channel")), *Channel.choices]
    )
    priority = forms.TypedChoiceField(
        label=_("Priority"),
        required=False,
        coerce=int,
        empty_value=None,
        choices=[("", _("Any priority")), *Priority.choices],
    )
    tag = forms.CharField(label=_("Tag"), required=False, max_length=50)
    inbox = forms.TypedChoiceField(
        label=_("Inbox"), required=False, coerce=int, empty_value=None, choices=[]
    )
    sort = forms.ChoiceField(
        label=_("Sort by"), required=False, choices=[(s, SORT_LABELS[s]) for s in SORTS]
    )
    q = forms.CharField(label=_("Search"), required=False, max_length=200)
    limit = forms.IntegerField(required=False, min_value=1, max_value=MAX_PAGE_SIZE)

    def __init__(self, *args, inboxes=(), **kwargs):
        kwargs.setdefault("auto_id", "filter_%s")
        super().__init__(*args, **kwargs)
        self.fields["inbox"].choices = [("", _("Any inbox"))] + [
            (inbox.pk, inbox.name) for inbox in inboxes
        ]
        self.fields["tag"].widget.attrs.update({"list": "tag-options", "placeholder": _("Any tag")})
        self.fields["q"].widget.attrs.update(
            {"type": "search", "placeholder": _("Search subject, customer, #number…")}
        )

    def value(self, name: str):
        """The cleaned value of a field, or its default when it was invalid."""
        if not self.is_bound:
            return None
        if name in self.errors:
            return None
        return self.cleaned_data.get(name)

    def filters(self) -> TicketFilters:
        self.is_valid()
        status = self.value("status") or ""
        if status == ANY_STATUS:
            statuses: tuple[str, ...] = ()
        elif status:
            statuses = (status,)
        else:
            statuses = tuple(OPEN_STATUSES)
        return TicketFilters(
            view=self.value("view") or "all",
            statuses=statuses,
            channel=self.value("channel") or "",
            priority=self.value("priority"),
            tag=normalize_tag(self.value("tag") or ""),
            inbox_id=self.value("inbox"),
            q=(self.value("q") or "").strip(),
            sort=self.value("sort") or "recent",
        )

    def page_size(self) -> int:
        return self.value("limit") or PAGE_SIZE

    def active_filters(self) -> list[str]:
        """Short labels of the filters in effect (defaults and invalid values left out),
        for the heading: "Solved", "SMS", "#vip", "“refund”"."""
        self.is_valid()
        labels: list[str] = []
        for name in ("status", "channel", "priority", "inbox"):
            value = self.value(name)
            if value in (None, ""):
                continue
            choices = dict(self.fields[name].choices)
            labels.append(str(choices.get(value, value)))
        tag = normalize_tag(self.value("tag") or "")
        if tag:
            labels.append(f"#{tag}")
        q = (self.value("q") or "").strip()
        if q:
            # Translators: a search term in quotation marks, as your language writes them.
            labels.append(_("“%(text)s”") % {"text": q})
        return labels


# "Reply by SMS instead": whole sentences, so each language words them its own way.
REPLY_INSTEAD = {
    Channel.EMAIL: _("Reply by email instead"),
    Channel.SMS: _("Reply by SMS instead"),
    Channel.MESSENGER: _("Reply on Messenger instead"),
    Channel.WIDGET: _("Reply in the chat instead"),
    Channel.TEST: _("Reply on the test channel instead"),
}


@dataclass(frozen=True)
class ReplyChannel:
    """One choice of the reply box's "Send via": whom it reaches, and whether it can now."""

    value: str
    # The channel as agents know it ("SMS").
    name: str
    # Where the reply goes ("+48 601 234 567", "jan@example.com"); "" when the
    # address means nothing to a person (a Messenger page-scoped id).
    address: str
    reach: Reach
    # Other channels of the customer a reply can take now (the way out).
    alternatives: tuple[ReplyChannel, ...] = field(default=(), compare=False)
    # Set for the channel the conversation is on now.
    current: bool = False

    @property
    def label(self) -> str:
        """The select's option: "SMS · +48 601 234 567", marked when it cannot send now."""
        label = f"{self.name} · {self.address}" if self.address else str(self.name)
        if self.reach.available:
            return label
        if self.reach.options:
            return str(_("%(channel)s (needs a message tag)") % {"channel": label})
        return str(_("%(channel)s (unavailable now)") % {"channel": label})

    @property
    def instead(self) -> str:
        return str(REPLY_INSTEAD.get(self.value) or self.name)

    @property
    def tag_values(self) -> set[str]:
        return {value for value, _label in self.reach.options}


MAX_REPLY_FILES = 10
MAX_REPLY_FILES = 10


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one input (Django's documented recipe): a list of uploads."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        clean_one = super().clean
        if isinstance(data, list | tuple):
            return [clean_one(item, initial) for item in data if item]
        return [clean_one(data, initial)] if data else []


class ReplyForm(forms.Form):
    SEND = "send"
    SEND_AND_SET = "send_status"

    text = forms.CharField(
        label=_("Reply"),
        max_length=MAX_BODY,
        widget=forms.Textarea(attrs={"rows": 4}),
        error_messages={"required": _("Write a reply first.")},
    )
    channel = forms.ChoiceField(label=_("Send via"))
    status = forms.ChoiceField(
        label=_("Then set status to"), required=False, choices=Status.choices
    )
    action = forms.ChoiceField(required=False, choices=[(SEND, SEND), (SEND_AND_SET, SEND_AND_SET)])
    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=100)
    attachments = MultipleFileField(label=_("Attach files"), required=False)
    # A send option of the chosen channel (Messenger's HUMAN_AGENT tag), rendered
    # with that channel's notice; any other value is dropped in clean().
    send_tag = forms.CharField(label=_("Message tag"), required=False, max_length=50)

    def __init__(self, *args, ticket: Ticket, channels: list[ReplyChannel], **kwargs):
        kwargs.setdefault(
            "initial",
            {
                "channel": ticket.last_channel,
                "status": Status.SOLVED if ticket.status != Status.SOLVED else Status.PENDING,
                "idempotency_key": new_idempotency_key(),
            },
        )
        kwargs.setdefault("auto_id", "reply_%s")
        super().__init__(*args, **kwargs)
        self.channels = channels
        # Why record_reply refused the reply (ReplyError), when it did.
        self.refused = ""
        self.fields["channel"].choices = [(c.value, c.label) for c in channels]
        # The chosen channel's notice (why it cannot go now, its window) describes the select.
        self.fields["channel"].widget.attrs["aria-describedby"] = "reply-reach"
        self.fields["text"].widget.attrs["placeholder"] = _("Write your reply to the customer…")
        limit = filesizeformat(settings.EMAIL_MAX_ATTACHMENT_BYTES)
        self.fields["attachments"].help_text = _("By email only, up to %(size)s per file.") % {
            "size": limit
        }

    def clean_text(self) -> str:
        # Browsers post line breaks as CRLF; one "\n" each, as the SMS counter
        # counted them (a CR would be one more character of every text).
        text = self.cleaned_data["text"].replace("\r\n", "\n").replace("\r", "\n").strip()
        if not text:
            raise forms.ValidationError(_("Write a reply first."))
        return text

    def clean_attachments(self) -> list:
        files = self.cleaned_data.get("attachments") or []
        if len(files) > MAX_REPLY_FILES:
            raise forms.ValidationError(
                _("Attach at most %(max)s files to one reply.") % {"max": MAX_REPLY_FILES}
            )
        limit = settings.EMAIL_MAX_ATTACHMENT_BYTES
        errors = [
            _("“%(name)s” is %(size)s; a file can be at most %(max)s.")
            % {"name": f.name, "size": filesizeformat(f.size), "max": filesizeformat(limit)}
            for f in files
            if f.size > limit
        ]
        if errors:
            raise forms.ValidationError(errors)
        return files

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("attachments") and cleaned.get("channel") not in (None, Channel.EMAIL):
            self.add_error("attachments", _("Files can only be sent by email."))
        text = cleaned.get("text") or ""
        if cleaned.get("channel") == Channel.MESSENGER and len(text) > MESSENGER_MAX_CHARS:
            # Refused here rather than stored and failed by the sender.
            self.add_error(
                "text",
                _(
                    "Messenger takes at most %(max)s characters; this reply has %(count)s. "
                    "Shorten it or split it into two replies."
                )
                % {"max": MESSENGER_MAX_CHARS, "count": len(text)},
            )
        if cleaned.get("channel") == Channel.SMS and len(text) > SMS_MAX_CHARS:
            self.add_error(
                "text",
                _(
                    "An SMS can have at most %(max)s characters; this reply has %(count)s. "
                    "Shorten it or send it on another channel."
                )
                % {"max": SMS_MAX_CHARS, "count": len(text)},
            )
        # A tag chosen for another channel before the agent switched "Send via".
        if cleaned.get("send_tag") not in self.chosen_channel_tags():
            cleaned["send_tag"] = ""
        return cleaned

    def chosen(self) -> ReplyChannel | None:
        """The channel "Send via" shows: as posted, else the initial one."""
        value = self["channel"].value()
        return next((c for c in self.channels if c.value == value), None)

    def chosen_channel_tags(self) -> set[str]:
        chosen = self.chosen()
        return chosen.tag_values if chosen else set()

    def send_options(self) -> dict | None:
        """record_reply's send_options: the tag the agent chose, if any."""
        tag = self.cleaned_data.get("send_tag")
        return {"tag": tag} if tag else None

    def attachment_contents(self) -> list[tuple[str, str, bytes]]:
        """The uploads as record_reply takes them: (filename, content type, content)."""
        return [
            (f.name, f.content_type or "application/octet-stream", f.read())
            for f in self.cleaned_data.get("attachments") or []
        ]

    def status_after(self) -> str | None:
        if self.cleaned_data.get("action") == self.SEND_AND_SET:
            return self.cleaned_data.get("status") or None
        return None


class NoteForm(forms.Form):
    text = forms.CharField(
        label=_("Internal note"),
        max_length=MAX_BODY,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": _("Write a note first.")},
    )

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "note_%s")
        super().__init__(*args, **kwargs)
        self.fields["text"].widget.attrs["placeholder"] = _(
            "Only agents see notes. Mention context, links, next steps…"
        )

    def clean_text(self) -> str:
        text = self.cleaned_data["text"].strip()
        if not text:
            raise forms.ValidationError(_("Write a note first."))
        return text


class IdentityForm(forms.Form):
    """A phone number or email address to add to the customer (tickets.merge.link_identity,
    which reads national numbers, stores E.164 and refuses another customer's)."""

    kind = forms.ChoiceField(
        label=_("Type"),
        choices=[(IdentityKind.PHONE, _("Phone")), (IdentityKind.EMAIL, _("Email address"))],
    )
    value = forms.CharField(
        label=_("Number or address"),
        max_length=320,
        error_messages={"required": _("Write the number or address first.")},
    )

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "identity_%s")
        super().__init__(*args, **kwargs)
        region = settings.PHONE_DEFAULT_REGION
        self.fields["value"].help_text = _(
            "A number without a country code is read as +%(code)s."
        ) % {"code": phonenumbers.country_code_for_region(region)}
        attrs = {"autocomplete": "off", "spellcheck": "false"}
        example = phonenumbers.example_number_for_type(region, phonenumbers.PhoneNumberType.MOBILE)
        if example is not None:
            # The national way of writing a number is fine: "601 234 567".
            attrs["placeholder"] = phonenumbers.format_number(
                example, phonenumbers.PhoneNumberFormat.NATIONAL
            )
        self.fields["value"].widget.attrs.update(attrs)


class AgentChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        return obj.get_full_name() or obj.get_username()


def assignable_agents(ticket: Ticket):
    """Active agents with a role, plus whoever is assigned now."""
    users = (
        get_user_model()
        .objects.filter(is_active=True)
        .filter(Q(groups__name__in=ROLES) | Q(is_superuser=True) | Q(pk=ticket.assignee_id))
    )
    return users.distinct().order_by("first_name", "last_name", "username")


class TicketUpdateForm(forms.Form):
    """Status, priority, assignee, team and tags. Only the fields the agent changed are
    applied (show_hidden_initial), so a stale form never reverts a colleague's change."""

    status = forms.ChoiceField(
        label=_("Status"), choices=Status.choices, required=False, show_hidden_initial=True
    )
    priority = forms.TypedChoiceField(
        label=_("Priority"),
        choices=Priority.choices,
        coerce=int,
        empty_value=None,
        required=False,
        show_hidden_initial=True,
    )
    assignee = AgentChoiceField(
        label=_("Assignee"),
        queryset=get_user_model().objects.none(),
        required=False,
        empty_label=_("Unassigned"),
        show_hidden_initial=True,
    )
    team = forms.ModelChoiceField(
        label=_("Team"),
        queryset=Team.objects.all(),
        required=False,
        empty_label=_("No team"),
        show_hidden_initial=True,
    )
    tags = forms.CharField(
        label=_("Tags"),
        required=False,
        max_length=1100,
        help_text=_("Separate tags with commas."),
        show_hidden_initial=True,
    )

    def __init__(self, *args, ticket: Ticket, **kwargs):
        kwargs.setdefault(
            "initial",
            {
                "status": ticket.status,
                "priority": ticket.priority,
                "assignee": ticket.assignee_id,
                "team": ticket.team_id,
                "tags": ", ".join(tag.name for tag in ticket.tags.all()),
            },
        )
        kwargs.setdefault("auto_id", "prop_%s")
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = assignable_agents(ticket)

    def clean_tags(self) -> list[str]:
        raw = self.cleaned_data.get("tags") or ""
        tags = sorted({normalize_tag(t) for t in raw.split(",") if normalize_tag(t)})
        if len(tags) > MAX_TAGS:
            raise forms.ValidationError(
                _("A ticket can have at most %(max)s tags.") % {"max": MAX_TAGS}
            )
        return tags

    def changes(self) -> dict:
        """Keyword arguments for update_ticket: the fields that were sent and changed."""
        changed = {name for name in self.changed_data if name in self.data}
        data = self.cleaned_data
        result: dict = {}
        for name in ("status", "priority"):
            if name in changed and data.get(name) not in (None, ""):
                result[name] = data[name]
        for name in ("assignee", "team", "tags"):
            if name in changed:
                result[name] = data[name]
        return result


class MergeForm(forms.Form):
    target = forms.ModelChoiceField(
        label=_("Merge this ticket into"),
        queryset=Ticket.objects.none(),
        empty_label=_("Choose a ticket…"),
        error_messages={"required": _("Choose the ticket to merge into.")},
    )

    def __init__(self, *args, targets, **kwargs):
        kwargs.setdefault("auto_id", "merge_%s")
        super().__init__(*args, **kwargs)
        self.fields["target"].queryset = targets
        self.fields["target"].label_from_instance = lambda t: f"{t.reference} {t.subject}"[:90]


class TransferForm(forms.Form):
    """Hand a chat to another agent or team, with a note for whoever takes it."""

    assignee = AgentChoiceField(
        label=_("Agent"),
        queryset=get_user_model().objects.none(),
        required=False,
        empty_label=_("Anyone in the team"),
    )
    team = forms.ModelChoiceField(
        label=_("Team"),
        queryset=Team.objects.all(),
        required=False,
        empty_label=_("Keep the team"),
    )
    note = forms.CharField(
        label=_("Note"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args, ticket: Ticket, **kwargs):
        kwargs.setdefault("auto_id", "transfer_%s")
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = assignable_agents(ticket).exclude(
            pk=ticket.assignee_id or 0
        )
        self.fields["team"].queryset = Team.objects.order_by("name")

    def clean(self):
        data = super().clean()
        if not data.get("assignee") and not data.get("team"):
            raise forms.ValidationError(_("Choose an agent or a team to transfer to."))
        return data


class AvailabilityForm(forms.Form):
    availability = forms.ChoiceField(choices=Availability.choices)


class SplitForm(forms.Form):
    messages = forms.TypedMultipleChoiceField(
        label=_("Messages"),
        coerce=int,
        error_messages={"required": _("Select at least one message to split out.")},
    )
    subject = forms.CharField(label=_("Subject of the new ticket"), required=False, max_length=300)

    def __init__(self, *args, message_ids=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["messages"].choices = [(str(pk), str(pk)) for pk in message_ids]


class LanguageForm(forms.Form):
    language = forms.ChoiceField(label=_("Language"))

    def __init__(self, *args, **kwargs):
        from django.conf import settings

        kwargs.setdefault("auto_id", "lang_%s")
        super().__init__(*args, **kwargs)
        self.fields["language"].choices = settings.LANGUAGES


def inbox_choices(user):
    """Inboxes offered as a filter: all active ones (names are not secret)."""
    return Inbox.objects.filter(is_active=True).only("id", "name").order_by("name")
