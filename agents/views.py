"""The agent web UI: the inbox list and the ticket view with the customer's timeline.

Views are function-based and check permissions themselves: every ticket is
looked up through visible_tickets(), so a ticket the agent may not see is a
404 everywhere (page, partials, posts). htmx requests get a named partial of
the same template (django-template-partials); plain requests get the page,
so every form also works without JavaScript.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from email.utils import formataddr
from functools import wraps

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Prefetch, prefetch_related_objects
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers, patch_vary_headers
from django.utils.formats import date_format
from django.utils.http import content_disposition_header, url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST
from django.views.i18n import set_language as django_set_language

from channels_in.adapters.sms import reply_number
from channels_in.base import Reach
from channels_in.email.parse import UnparseableEmailError, parse_email
from channels_in.models import RawInbound, SmsOptOut
from channels_in.registry import get_adapter
from channels_in.tasks import send_message
from channels_in.widgets import publish_agent_read
from tickets.access import role_of, visible_tickets
from tickets.changes import ChangeError, update_ticket
from tickets.delivery import record_delivery
from tickets.files import attachment_response
from tickets.listing import SORTS, VIEWS, filtered_tickets, list_tickets
from tickets.merge import MergeError, link_identity, merge_customers, merge_tickets, split_ticket
from tickets.models import (
    IDENTITY_KIND_FOR_CHANNEL,
    Attachment,
    Channel,
    Customer,
    Delivery,
    Direction,
    EventKind,
    Identity,
    IdentityKind,
    Inbox,
    Message,
    Tag,
    Ticket,
    TicketParticipant,
    TimelineEvent,
)
from tickets.phones import display as display_phone
from tickets.replies import ReplyError, add_note, record_reply, reply_inboxes
from tickets.timeline import timeline_events, timeline_page

from .forms import (
    MESSENGER_MAX_CHARS,
    VIEW_LABELS,
    AvailabilityForm,
    IdentityForm,
    InboxFilterForm,
    LanguageForm,
    MergeForm,
    NoteForm,
    ReplyChannel,
    ReplyForm,
    SplitForm,
    TicketUpdateForm,
    TransferForm,
    inbox_choices,
)
from .live import push_chat
from .models import Profile
from .presence import set_availability

TIMELINE_AFTER_LIMIT = 200


def agent_required(view):
    """Signed in and holding a helpdesk role; anyone else is refused."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs):
        if role_of(request.user) is None:
            raise PermissionDenied
        response = view(request, *args, **kwargs)
        # A page and its htmx partial share a URL: the browser must not serve
        # one for the other (Back after a filter change), nor keep stale data.
        patch_vary_headers(response, ["HX-Request"])
        add_never_cache_headers(response)
        return response

    return login_required(wrapped)


def _visible_ticket(request: HttpRequest, pk: int) -> Ticket:
    tickets = visible_tickets(request.user).select_related("customer", "inbox", "assignee", "team")
    return get_object_or_404(tickets, pk=pk)


# --- Inbox ---------------------------------------------------------------------------


@agent_required
@require_GET
def inbox(request: HttpRequest) -> HttpResponse:
    inboxes = list(inbox_choices(request.user))
    form = InboxFilterForm(request.GET, inboxes=inboxes)
    filters = form.filters()
    cursor = request.GET.get("cursor") or None
    page = list_tickets(request.user, filters, cursor=cursor, limit=form.page_size())
    more_query = None
    if page.next_cursor:
        params = request.GET.copy()
        params["cursor"] = page.next_cursor
        more_query = params.urlencode()
    active_filters = form.active_filters()
    context = {
        "form": form,
        "filters": filters,
        "page": page,
        "tickets": page.tickets,
        "more_query": more_query,
        "views": [(name, VIEW_LABELS[name]) for name in VIEWS],
        "current_view": filters.view,
        "view_label": VIEW_LABELS[filters.view],
        "sorts": SORTS,
        "tag_options": Tag.objects.order_by("name").values_list("name", flat=True)[:200],
        "active_filters": active_filters,
        "filtered": bool(active_filters),
    }
    if request.htmx and not request.htmx.history_restore_request:
        # A filter change swaps the list and, out of band, everything else that
        # depends on the filters: the heading, the Clear link, the view links.
        partial = "more" if cursor else "filtered"
        return render(request, f"agents/inbox.html#{partial}", context)
    return render(request, "agents/inbox.html", context)


@agent_required
@require_GET
def ticket_row(request: HttpRequest, pk: int) -> HttpResponse:
    """One inbox row, for live updates. 204 when the ticket no longer fits the filters."""
    tickets = visible_tickets(request.user).select_related("customer", "assignee", "team")
    ticket = get_object_or_404(
        tickets.prefetch_related(Prefetch("tags", queryset=Tag.objects.only("id", "name"))),
        pk=pk,
    )
    filters = InboxFilterForm(request.GET, inboxes=inbox_choices(request.user)).filters()
    if not filtered_tickets(request.user, filters).filter(pk=ticket.pk).exists():
        return HttpResponse(status=204)
    return render(request, "agents/inbox.html#row", {"ticket": ticket})


# --- Ticket ----------------------------------------------------------------------------


@dataclass
class Block:
    """A run of timeline events: this ticket's are shown, other tickets' are folded."""

    ticket: Ticket | None
    folded: bool
    events: list[TimelineEvent] = field(default_factory=list)

    @property
    def first_id(self) -> int:
        return self.events[0].pk

    @property
    def last_id(self) -> int:
        return self.events[-1].pk

    @property
    def message_count(self) -> int:
        return sum(1 for e in self.events if e.message_id)

    @property
    def channels(self) -> list[tuple[str, str]]:
        """The channels its messages came and went on, in order of first use."""
        seen: dict[str, str] = {}
        for event in self.events:
            message = event.message if event.message_id else None
            if message is not None and not message.is_note:
                seen.setdefault(message.channel, message.get_channel_display())
        return list(seen.items())


def group_events(events: list[TimelineEvent], ticket: Ticket) -> list[Block]:
    """Oldest first. Consecutive events of another ticket fold into one block.

    Customer events (an identity linked) amid another ticket's events fold with
    them, so one conversation is not cut into two folded blocks.
    """
    blocks: list[Block] = []
    for event in events:
        if event.ticket_id is None or event.ticket_id == ticket.pk:
            blocks.append(Block(ticket=None, folded=False, events=[event]))
            continue
        start = len(blocks)
        while (
            start and not blocks[start - 1].folded and blocks[start - 1].events[0].ticket_id is None
        ):
            start -= 1
        run = blocks[start - 1] if start else None
        if run is not None and run.folded and run.ticket.pk == event.ticket_id:
            for between in blocks[start:]:
                run.events.extend(between.events)
            del blocks[start:]
            run.events.append(event)
            continue
        blocks.append(Block(ticket=event.ticket, folded=True, events=[event]))
    return blocks


def name_assignees(events: list[TimelineEvent]) -> None:
    """Assignee events store usernames; show people's names (one query per page)."""
    changes = [e for e in events if e.kind == EventKind.ASSIGNEE]
    usernames = {v for e in changes for v in (e.data.get("from"), e.data.get("to")) if v}
    if not usernames:
        return
    users = get_user_model().objects.filter(username__in=usernames)
    names = {u.get_username(): u.get_full_name() or u.get_username() for u in users}
    for event in changes:
        event.data = {
            **event.data,
            "from": names.get(event.data.get("from"), event.data.get("from")),
            "to": names.get(event.data.get("to"), event.data.get("to")),
        }


def name_participants(events: list[TimelineEvent]) -> None:
    """Participant events store customer ids: show their names (one query per page)."""
    added = [e for e in events if e.kind == EventKind.PARTICIPANT_ADDED]
    ids = {e.data.get("customer") for e in added}
    ids = {i for i in ids if isinstance(i, int)}
    if not ids:
        return
    names = {c.pk: c.display_name for c in Customer.objects.filter(pk__in=ids).only("id", "name")}
    for event in added:
        event.data = {**event.data, "name": names.get(event.data.get("customer"))}


def _timeline_context(ticket: Ticket, events: list[TimelineEvent]) -> dict:
    name_assignees(events)
    name_participants(events)
    return {
        "ticket": ticket,
        "customer": ticket.customer,
        "blocks": group_events(events, ticket),
    }


def _ticket_context(request: HttpRequest, ticket: Ticket, **forms) -> dict:
    user = request.user
    customer = ticket.customer
    page = timeline_page(customer_id=customer.pk, user=user)
    events = list(reversed(page.events))
    other_tickets = list(
        visible_tickets(user)
        .filter(customer_id=customer.pk)
        .exclude(pk=ticket.pk)
        .order_by("-last_activity_at")[:20]
    )
    merge_targets = (
        visible_tickets(user)
        .filter(customer_id=customer.pk, merged_into__isnull=True)
        .exclude(pk=ticket.pk)
        .order_by("-last_activity_at")
    )
    prefetch_related_objects([customer], "identities")
    identity_form = forms.get("identity_form") or IdentityForm()
    return {
        **_timeline_context(ticket, events),
        **_reply_context(ticket, forms.get("reply_form")),
        "next_before": page.next_before,
        "identities": _identity_rows(customer),
        "identity_form": identity_form,
        "participants": _participants(ticket),
        "refused": _refused_thread(user, ticket),
        "attributes": sorted(
            (k, v) for k, v in (customer.attributes or {}).items() if k != CLAIMED_EMAIL
        ),
        "claimed_email": (customer.attributes or {}).get(CLAIMED_EMAIL, ""),
        "other_tickets": other_tickets,
        "note_form": forms.get("note_form") or NoteForm(),
        "update_form": forms.get("update_form") or TicketUpdateForm(ticket=ticket),
        "merge_form": forms.get("merge_form") or MergeForm(targets=merge_targets),
        "has_merge_targets": merge_targets.exists(),
        "is_chat": ticket.inbox.channel == Channel.WIDGET,
        "transfer_form": forms.get("transfer_form") or TransferForm(ticket=ticket),
        "composer_tab": forms.get("composer_tab", "reply"),
    }


# --- The reply box: which channels reach the customer now -----------------------------


def find_reply_channels(ticket: Ticket) -> list[ReplyChannel]:
    """The channels a reply can take, each with whom it reaches and whether it can now.

    The same few queries however many identities the customer has: their
    identities (prefetched, shared with the sidebar), the inbox of each channel
    (two queries for all), the number an SMS goes to (one), and each channel's
    own reach() (its adapter's query; at most one per channel, five channels).
    """
    customer = ticket.customer
    prefetch_related_objects([customer], "identities")
    newest_first: dict[str, list[Identity]] = {}
    for identity in sorted(customer.identities.all(), key=lambda i: -i.pk):
        newest_first.setdefault(identity.kind, []).append(identity)
    values = [
        value
        for value, _label in Channel.choices
        if IDENTITY_KIND_FOR_CHANNEL.get(value) in newest_first
    ]
    inboxes = reply_inboxes(ticket=ticket, channels=values)
    channels = []
    for value in values:
        identities = newest_first[IDENTITY_KIND_FOR_CHANNEL[value]]
        inbox = inboxes.get(value)
        channels.append(
            ReplyChannel(
                value=value,
                name=str(Channel(value).label),
                address=_reply_address(ticket, value, identities, inbox),
                reach=_reach(ticket, value, inbox),
                current=value == ticket.last_channel,
            )
        )
    return [
        replace(
            channel,
            alternatives=tuple(o for o in channels if o is not channel and o.reach.available),
        )
        for channel in channels
    ]


def _reply_address(
    ticket: Ticket, channel: str, identities: list[Identity], inbox: Inbox | None
) -> str:
    """Where a reply on the channel goes, as people read it; "" when an id means nothing."""
    if channel == Channel.SMS:
        numbers = [identity.value for identity in identities]
        number = reply_number(ticket=ticket, inbox=inbox, numbers=numbers) if inbox else numbers[0]
        return display_phone(number)
    if channel in (Channel.EMAIL, Channel.TEST):
        return identities[0].value
    return ""


def _reach(ticket: Ticket, channel: str, inbox: Inbox | None) -> Reach:
    if inbox is None:
        return Reach(
            available=False,
            reason=_("No active %(channel)s inbox to send from.")
            % {"channel": Channel(channel).label},
        )
    try:
        adapter = get_adapter(channel)
    except LookupError:
        return Reach()  # no adapter, no rule: record_reply lets it through too
    return adapter.reach(ticket=ticket, inbox=inbox)


def _reply_context(ticket: Ticket, form: ReplyForm | None = None) -> dict:
    """What the reply box renders: the form and, per channel, its notice."""
    if form is None:
        form = ReplyForm(ticket=ticket, channels=find_reply_channels(ticket))
    chosen = form.chosen()
    return {
        "messenger_max_chars": MESSENGER_MAX_CHARS,
        "reply_form": form,
        "reply_channels": form.channels,
        "reply_chosen": chosen.value if chosen else "",
        "reply_tag": form["send_tag"].value() or "",
    }


@dataclass(frozen=True)
class IdentityRow:
    """A contact in the customer sidebar, as people read it, with its SMS opt-out."""

    identity: Identity
    value: str
    opt_out: SmsOptOut | None = None


def _identity_rows(customer: Customer) -> list[IdentityRow]:
    """The customer's identities; the opt-outs of all their phones in one query."""
    identities = sorted(customer.identities.all(), key=lambda i: (i.kind, i.value))
    phones = [i.value for i in identities if i.kind == IdentityKind.PHONE]
    opt_outs: dict[str, SmsOptOut] = {}
    if phones:
        for opt_out in (
            SmsOptOut.objects.filter(phone__in=phones)
            .select_related("inbox")
            .only("phone", "keyword", "created_at", "inbox__name")
            .order_by("created_at", "id")
        ):
            opt_outs[opt_out.phone] = opt_out  # the latest wins
    return [
        IdentityRow(
            identity=identity,
            value=display_phone(identity.value)
            if identity.kind == IdentityKind.PHONE
            else identity.value,
            opt_out=opt_outs.get(identity.value) if identity.kind == IdentityKind.PHONE else None,
        )
        for identity in identities
    ]


def _participants(ticket: Ticket) -> list[TicketParticipant]:
    """The people on Cc who take part in the ticket, each with their email addresses."""
    emails = Identity.objects.filter(kind=IdentityKind.EMAIL).order_by("id")
    return list(
        TicketParticipant.objects.filter(ticket=ticket)
        .select_related("customer")
        .prefetch_related(Prefetch("customer__identities", queryset=emails, to_attr="emails"))
        .order_by("created_at", "id")
    )


@dataclass(frozen=True)
class RefusedThread:
    """A ticket a message of this one claimed to answer, though its sender takes no part."""

    ticket_id: int
    visible: bool


def _refused_thread(user, ticket: Ticket) -> RefusedThread | None:
    claimed = (
        Message.objects.filter(ticket=ticket, meta__refused_thread__isnull=False)
        .order_by("id")
        .values_list("meta__refused_thread", flat=True)
        .first()
    )
    if not isinstance(claimed, int):
        return None
    return RefusedThread(
        ticket_id=claimed, visible=visible_tickets(user).filter(pk=claimed).exists()
    )


@agent_required
@require_GET
def ticket_detail(request: HttpRequest, pk: int) -> HttpResponse:
    ticket = _visible_ticket(request, pk)
    if ticket.merged_into_id:
        target = visible_tickets(request.user).filter(pk=ticket.merged_into_id).first()
        if target is not None:
            messages.info(
                request,
                _("Ticket %(source)s was merged into %(target)s.")
                % {"source": ticket.reference, "target": target.reference},
            )
            return redirect("agents:ticket", pk=target.pk)
    _tell_chat_seen(ticket)
    return render(request, "agents/ticket.html", _ticket_context(request, ticket))


def _tell_chat_seen(ticket: Ticket) -> None:
    """An agent has the chat in front of them: the visitor's messages show "Seen"."""
    if ticket.inbox.channel != Channel.WIDGET:
        return
    last = (
        Message.objects.filter(ticket=ticket, direction=Direction.IN)
        .order_by("-id")
        .values_list("pk", flat=True)
        .first()
    )
    if last is not None:
        transaction.on_commit(lambda: publish_agent_read(ticket, last))


def _int_param(request: HttpRequest, name: str) -> int | None:
    try:
        value = int(request.GET.get(name, ""))
    except ValueError:
        return None
    return value if value >= 0 else None


@agent_required
@require_GET
def ticket_timeline(request: HttpRequest, pk: int) -> HttpResponse:
    """Timeline partials: `?after=<event id>` newer events (live), `?before=<id>` an older page."""
    ticket = _visible_ticket(request, pk)
    after = _int_param(request, "after")
    before = _int_param(request, "before")
    if after is not None:
        events = list(
            timeline_events(customer_id=ticket.customer_id, user=request.user)
            .filter(id__gt=after)
            .order_by("id")[:TIMELINE_AFTER_LIMIT]
        )
        if any(e.message_id and e.ticket_id == ticket.pk for e in events):
            _tell_chat_seen(ticket)  # new messages reached the open page
        return render(
            request, "agents/ticket.html#timeline-items", _timeline_context(ticket, events)
        )
    page = timeline_page(customer_id=ticket.customer_id, user=request.user, before=before)
    context = _timeline_context(ticket, list(reversed(page.events)))
    context["next_before"] = page.next_before
    return render(request, "agents/ticket.html#older", context)


@agent_required
@require_GET
def ticket_header(request: HttpRequest, pk: int) -> HttpResponse:
    ticket = _visible_ticket(request, pk)
    return render(request, "agents/ticket.html#header", {"ticket": ticket})


@agent_required
@require_GET
def message_delivery(request: HttpRequest, pk: int, message_id: int) -> HttpResponse:
    """The delivery state of a message and what the agent can do about it (live updates)."""
    ticket = _visible_ticket(request, pk)
    message = get_object_or_404(Message.objects.filter(ticket=ticket), pk=message_id)
    return render(request, "agents/ticket.html#delivery-update", {"message": message})


@agent_required
@require_POST
def message_retry(request: HttpRequest, pk: int, message_id: int) -> HttpResponse:
    """Send a failed (or unknown) reply again: back to pending, queued once committed."""
    ticket = _visible_ticket(request, pk)
    outbound = Message.objects.filter(ticket=ticket, direction=Direction.OUT, is_note=False)
    message = get_object_or_404(outbound, pk=message_id)
    # Never a message still being sent: that one may yet arrive, and would arrive twice.
    retried = message.delivery_state in (Delivery.FAILED, Delivery.UNKNOWN) and record_delivery(
        message_id=message.pk, state=Delivery.PENDING, retry=True
    )
    if retried:
        transaction.on_commit(lambda: send_message.delay(message.pk))
    message.refresh_from_db()
    if request.htmx:
        context = {"message": message, "ticket": ticket, "oob": True}
        return render(request, "agents/ticket.html#delivery-update", context)
    if retried:
        messages.success(request, _("The message is queued to be sent again."))
    else:
        messages.error(request, _("This message cannot be sent again."))
    return _back_to_ticket(ticket)


def _inbound_email(ticket: Ticket, message_id: int) -> Message:
    emails = Message.objects.filter(ticket=ticket, channel=Channel.EMAIL, direction=Direction.IN)
    return get_object_or_404(emails.prefetch_related("attachments"), pk=message_id)


def _raw_email(message: Message) -> RawInbound | None:
    """The bytes the message was made from, exactly as they arrived."""
    return RawInbound.objects.filter(message_id=message.pk).order_by("id").first()


def _when(value: datetime | None) -> str:
    if value is None:
        return ""
    if timezone.is_naive(value):
        value = timezone.make_aware(value, UTC)
    return date_format(timezone.localtime(value), "DATETIME_FORMAT")


def _address_list(pairs) -> str:
    return ", ".join(formataddr((name, address)) if name else address for name, address in pairs)


def _original_headers(message: Message, raw: RawInbound | None) -> list[tuple[str, str]]:
    """From, To, Cc, Date, Subject and Message-ID: read from the raw mail when we have it."""
    if raw is not None:
        try:
            mail = parse_email(
                bytes(raw.body), max_attachment_bytes=settings.EMAIL_MAX_ATTACHMENT_BYTES
            )
        except UnparseableEmailError:
            mail = None
        if mail is not None:
            rows = [
                (_("From"), _address_list([(mail.from_name, mail.from_address)])),
                (_("To"), _address_list(mail.to)),
                (_("Cc"), _address_list(mail.cc)),
                (_("Date"), _when(mail.date)),
                (_("Subject"), mail.subject),
                (_("Message-ID"), f"<{mail.message_id}>" if mail.message_id else ""),
            ]
            return [(label, value) for label, value in rows if value]
    meta = message.meta or {}
    sender = meta.get("from") or {}
    external_id = message.external_id or ""
    rows = [
        (_("From"), _address_list([(sender.get("name", ""), sender.get("address", ""))])),
        (_("To"), ", ".join(meta.get("to") or [])),
        (_("Cc"), ", ".join(meta.get("cc") or [])),
        (_("Date"), _when(message.sent_at or message.created_at)),
        (_("Subject"), message.subject),
        (_("Message-ID"), f"<{external_id}>" if "@" in external_id else ""),
    ]
    return [(label, value) for label, value in rows if value]


@agent_required
@require_GET
def message_original(request: HttpRequest, pk: int, message_id: int) -> HttpResponse:
    """An inbound mail as it came: its headers, the whole HTML and the text part."""
    ticket = _visible_ticket(request, pk)
    message = _inbound_email(ticket, message_id)
    raw = _raw_email(message)
    context = {
        "ticket": ticket,
        "message": message,
        "headers": _original_headers(message, raw),
        "has_raw": raw is not None,
    }
    return render(request, "agents/original.html", context)


@agent_required
@require_GET
def message_raw(request: HttpRequest, pk: int, message_id: int) -> HttpResponse:
    """The exact bytes of an inbound mail, as a .eml file."""
    ticket = _visible_ticket(request, pk)
    message = _inbound_email(ticket, message_id)
    raw = _raw_email(message)
    if raw is None:
        raise Http404
    response = HttpResponse(bytes(raw.body), content_type="message/rfc822")
    response["Content-Disposition"] = content_disposition_header(
        True, f"ticket-{ticket.pk}-message-{message.pk}.eml"
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response


def _refresh_headers(response: HttpResponse) -> HttpResponse:
    response["HX-Trigger"] = json.dumps({"timeline-refresh": True, "ticket-changed": True})
    return response


def _back_to_ticket(ticket: Ticket) -> HttpResponse:
    return redirect("agents:ticket", pk=ticket.pk)


def _rerender_page(request: HttpRequest, ticket: Ticket, **forms) -> HttpResponse:
    return render(
        request, "agents/ticket.html", _ticket_context(request, ticket, **forms), status=422
    )


@agent_required
@require_POST
def ticket_reply(request: HttpRequest, pk: int) -> HttpResponse:
    ticket = _visible_ticket(request, pk)
    channels = find_reply_channels(ticket)
    form = ReplyForm(request.POST, request.FILES, ticket=ticket, channels=channels)
    if form.is_valid():
        try:
            result = record_reply(
                ticket=ticket,
                author=request.user,
                text=form.cleaned_data["text"],
                channel=form.cleaned_data["channel"],
                status=form.status_after(),
                idempotency_key=form.cleaned_data["idempotency_key"],
                attachments=form.attachment_contents(),
                send_options=form.send_options(),
            )
        except ReplyError as exc:
            # The channel cannot take it now (an opt-out, a closed window): the
            # reason, and the channel's notice above the button with what can be
            # done (it leaves out the reason the error already gives).
            form.refused = str(exc)
            form.add_error(None, _("Not sent. %(reason)s") % {"reason": form.refused})
        else:
            ticket.refresh_from_db()
            if request.htmx:
                context = {"ticket": ticket, **_reply_context(ticket), "sent": True}
                response = render(request, "agents/ticket.html#reply-form", context)
                return _refresh_headers(response)
            if not result.duplicate:
                messages.success(request, _("Your reply is on its way."))
            return _back_to_ticket(ticket)
    if request.htmx:
        context = {"ticket": ticket, **_reply_context(ticket, form)}
        return render(request, "agents/ticket.html#reply-form", context, status=422)
    return _rerender_page(request, ticket, reply_form=form)


@agent_required
@require_POST
def ticket_link_identity(request: HttpRequest, pk: int) -> HttpResponse:
    """Add a phone number or email address to the ticket's customer.

    link_identity reads national numbers and stores E.164; a number that is not
    one, or that another customer owns (merge them instead), comes back as the
    form's error.
    """
    ticket = _visible_ticket(request, pk)
    form = IdentityForm(request.POST)
    if form.is_valid():
        customer = ticket.customer
        known = {identity.pk for identity in customer.identities.all()}
        try:
            identity = link_identity(
                customer=customer,
                kind=form.cleaned_data["kind"],
                value=form.cleaned_data["value"],
                actor=request.user,
            )
        except MergeError as exc:
            form.add_error("value", str(exc))
        else:
            shown = (
                display_phone(identity.value)
                if identity.kind == IdentityKind.PHONE
                else identity.value
            )
            values = {"value": shown, "name": customer.display_name}
            if identity.pk in known:
                messages.info(request, _("%(value)s is already a contact of %(name)s.") % values)
            else:
                messages.success(request, _("%(value)s was added to %(name)s's contacts.") % values)
            return _back_to_ticket(ticket)
    return _rerender_page(request, ticket, identity_form=form)


@agent_required
@require_POST
def ticket_note(request: HttpRequest, pk: int) -> HttpResponse:
    ticket = _visible_ticket(request, pk)
    form = NoteForm(request.POST)
    if form.is_valid():
        try:
            add_note(ticket=ticket, author=request.user, text=form.cleaned_data["text"])
        except ReplyError as exc:
            form.add_error(None, str(exc))
        else:
            if request.htmx:
                context = {"ticket": ticket, "note_form": NoteForm(), "sent": True}
                response = render(request, "agents/ticket.html#note-form", context)
                return _refresh_headers(response)
            messages.success(request, _("Note added."))
            return _back_to_ticket(ticket)
    if request.htmx:
        context = {"ticket": ticket, "note_form": form}
        return render(request, "agents/ticket.html#note-form", context, status=422)
    return _rerender_page(request, ticket, note_form=form, composer_tab="note")


@agent_required
@require_POST
def ticket_update(request: HttpRequest, pk: int) -> HttpResponse:
    ticket = _visible_ticket(request, pk)
    form = TicketUpdateForm(request.POST, ticket=ticket)
    if form.is_valid():
        try:
            update_ticket(ticket=ticket, actor=request.user, **form.changes())
        except ChangeError as exc:
            form.add_error(None, str(exc))
        else:
            if not visible_tickets(request.user).filter(pk=ticket.pk).exists():
                messages.info(
                    request,
                    _("Ticket %(ref)s moved out of your teams.") % {"ref": ticket.reference},
                )
                if request.htmx:
                    response = HttpResponse(status=204)
                    response["HX-Redirect"] = reverse("agents:inbox")
                    return response
                return redirect("agents:inbox")
            ticket = _visible_ticket(request, pk)
            if request.htmx:
                context = {"ticket": ticket, "update_form": TicketUpdateForm(ticket=ticket)}
                context["saved"] = True
                return _refresh_headers(render(request, "agents/ticket.html#properties", context))
            messages.success(request, _("Ticket updated."))
            return _back_to_ticket(ticket)
    if request.htmx:
        context = {"ticket": ticket, "update_form": form}
        return render(request, "agents/ticket.html#properties", context, status=422)
    return _rerender_page(request, ticket, update_form=form)


@agent_required
@require_POST
def ticket_transfer(request: HttpRequest, pk: int) -> HttpResponse:
    """Hand a chat to another agent or team; an internal note says to whom and why."""
    ticket = _visible_ticket(request, pk)
    if ticket.inbox.channel != Channel.WIDGET:
        raise Http404
    form = TransferForm(request.POST, ticket=ticket)
    if not form.is_valid():
        return _rerender_page(request, ticket, transfer_form=form)
    assignee = form.cleaned_data["assignee"]
    team = form.cleaned_data["team"]
    note = form.cleaned_data["note"].strip()
    # To a team alone: unassigned, so the team's agents pick it up.
    changes: dict = {"assignee": assignee}
    if team is not None:
        changes["team"] = team
    if assignee is not None and team is not None:
        target = _("%(agent)s (team %(team)s)") % {
            "agent": assignee.get_full_name() or assignee.get_username(),
            "team": team.name,
        }
    elif assignee is not None:
        target = assignee.get_full_name() or assignee.get_username()
    else:
        target = _("team %(team)s") % {"team": team.name}
    if note:
        text = _("Transferred to %(target)s: %(note)s") % {"target": target, "note": note}
    else:
        text = _("Transferred to %(target)s.") % {"target": target}
    try:
        with transaction.atomic():
            changed = update_ticket(ticket=ticket, actor=request.user, **changes)
            add_note(ticket=ticket, author=request.user, text=text)
    except (ChangeError, ReplyError) as exc:
        form.add_error(None, str(exc))
        return _rerender_page(request, ticket, transfer_form=form)
    if changed.assignee_id != request.user.pk:
        transaction.on_commit(
            lambda: push_chat(
                ticket_id=changed.pk,
                customer_id=changed.customer_id,
                assignee_id=changed.assignee_id,
                team_id=changed.team_id,
            )
        )
    messages.success(request, _("Transferred to %(target)s.") % {"target": target})
    if not visible_tickets(request.user).filter(pk=ticket.pk).exists():
        return redirect("agents:inbox")
    return _back_to_ticket(ticket)


@agent_required
@require_POST
def ticket_merge(request: HttpRequest, pk: int) -> HttpResponse:
    ticket = _visible_ticket(request, pk)
    targets = visible_tickets(request.user).filter(
        customer_id=ticket.customer_id, merged_into__isnull=True
    )
    form = MergeForm(request.POST, targets=targets.exclude(pk=ticket.pk))
    if not form.is_valid():
        return _rerender_page(request, ticket, merge_form=form)
    target = form.cleaned_data["target"]
    try:
        merge_tickets(source=ticket, target=target, actor=request.user)
    except MergeError as exc:
        messages.error(request, str(exc))
        return _back_to_ticket(ticket)
    messages.success(
        request,
        _("Ticket %(source)s was merged into %(target)s.")
        % {"source": ticket.reference, "target": target.reference},
    )
    return redirect("agents:ticket", pk=target.pk)


# What a chat visitor typed as their email, unverified (channels_in.widgets).
CLAIMED_EMAIL = "claimed_email"


@agent_required
@require_POST
def ticket_confirm_claim(request: HttpRequest, pk: int) -> HttpResponse:
    """The agent vouches that the visitor is who they said (the email they typed).

    The customer who owns that address, if any, takes the visitor in (merge);
    otherwise the address becomes the visitor's own, verified.
    """
    ticket = _visible_ticket(request, pk)
    customer = ticket.customer
    email = str((customer.attributes or {}).get(CLAIMED_EMAIL) or "")
    if not email:
        messages.error(request, _("This customer has not said who they are."))
        return _back_to_ticket(ticket)
    owner = (
        Identity.objects.filter(kind=IdentityKind.EMAIL, value=Identity.normalize("email", email))
        .select_related("customer")
        .first()
    )
    try:
        with transaction.atomic():
            attributes = {k: v for k, v in customer.attributes.items() if k != CLAIMED_EMAIL}
            Customer.objects.filter(pk=customer.pk).update(attributes=attributes)
            customer.refresh_from_db()
            if owner is not None and owner.customer_id != customer.pk:
                target = owner.customer.live()
                merge_customers(source=customer, target=target, actor=request.user)
                done = _("Confirmed: the chat now belongs to %(name)s.") % {
                    "name": target.display_name
                }
            else:
                identity = link_identity(
                    customer=customer,
                    kind=IdentityKind.EMAIL,
                    value=email,
                    verified=True,
                    actor=request.user,
                )
                # The address may already be theirs, unverified (left for a reply by email).
                Identity.objects.filter(pk=identity.pk).update(verified=True)
                done = _("Confirmed: %(email)s is this customer's address.") % {"email": email}
    except MergeError as exc:
        messages.error(request, str(exc))
        return _back_to_ticket(ticket)
    messages.success(request, done)
    return _back_to_ticket(ticket)


@agent_required
@require_POST
def ticket_split(request: HttpRequest, pk: int) -> HttpResponse:
    ticket = _visible_ticket(request, pk)
    message_ids = list(Message.objects.filter(ticket=ticket).values_list("pk", flat=True))
    form = SplitForm(request.POST, message_ids=message_ids)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return _back_to_ticket(ticket)
    try:
        new = split_ticket(
            ticket=ticket,
            message_ids=form.cleaned_data["messages"],
            actor=request.user,
            subject=form.cleaned_data["subject"],
        )
    except MergeError as exc:
        messages.error(request, str(exc))
        return _back_to_ticket(ticket)
    messages.success(
        request,
        _("The selected messages are now ticket %(ref)s.") % {"ref": new.reference},
    )
    return redirect("agents:ticket", pk=new.pk)


@require_GET
@agent_required
def attachment(request: HttpRequest, pk: int, attachment_id: int) -> HttpResponse:
    """Attachments are served through a permission check, never from a public URL."""
    ticket = _visible_ticket(request, pk)
    item = get_object_or_404(
        Attachment.objects.filter(message__ticket__customer_id=ticket.customer_id),
        pk=attachment_id,
    )
    if not visible_tickets(request.user).filter(pk=item.message.ticket_id).exists():
        raise Http404
    # Pictures show in the message (cid: images, a click on one); the rest downloads.
    return attachment_response(item, csp="default-src 'none'; img-src 'self'; sandbox")


# --- Preferences -----------------------------------------------------------------------


@agent_required
@require_POST
def availability(request: HttpRequest) -> HttpResponse:
    """Online (new chats may be assigned to me) or Away: the header toggle."""
    form = AvailabilityForm(request.POST)
    if not form.is_valid():
        return HttpResponse(status=400)
    profile = set_availability(request.user.pk, form.cleaned_data["availability"])
    next_url = request.POST.get("next") or ""
    if not url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        next_url = reverse("agents:inbox")
    if request.htmx:
        context = {"availability": profile.availability, "next_url": next_url, "changed": True}
        return render(request, "agents/_availability.html", context)
    return redirect(next_url)


@require_POST
def set_language(request: HttpRequest) -> HttpResponse:
    """Switch the UI language; for a signed-in agent also remember it in the profile
    (the profile wins over the cookie on every later request)."""
    form = LanguageForm(request.POST)
    if form.is_valid() and request.user.is_authenticated:
        Profile.objects.update_or_create(
            user=request.user, defaults={"language": form.cleaned_data["language"]}
        )
    # Django's own view checks `next`, sets the cookie and redirects.
    return django_set_language(request)
