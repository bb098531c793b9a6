"""The agent web UI: the inbox list and the ticket view with the customer's timeline.

Views are function-based and check permissions themselves: every ticket is
looked up through visible_tickets(), so a ticket the agent may not see is a
404 everywhere (page, partials, posts). htmx requests get a named partial of
the same template (django-template-partials); plain requests get the page,
so every form also works without JavaScript.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import wraps

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch, prefetch_related_objects
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.cache import add_never_cache_headers, patch_vary_headers
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST
from django.views.i18n import set_language as django_set_language

from tickets.access import role_of, visible_tickets
from tickets.changes import ChangeError, update_ticket
from tickets.listing import SORTS, VIEWS, filtered_tickets, list_tickets
from tickets.merge import MergeError, merge_tickets, split_ticket
from tickets.models import Attachment, EventKind, Message, Tag, Ticket, TimelineEvent
from tickets.replies import ReplyError, add_note, record_reply
from tickets.timeline import timeline_events, timeline_page

from .forms import (
    VIEW_LABELS,
    InboxFilterForm,
    LanguageForm,
    MergeForm,
    NoteForm,
    ReplyForm,
    SplitForm,
    TicketUpdateForm,
    inbox_choices,
)
from .models import Profile

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


def _timeline_context(ticket: Ticket, events: list[TimelineEvent]) -> dict:
    name_assignees(events)
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
    identities = sorted(customer.identities.all(), key=lambda i: (i.kind, i.value))
    return {
        **_timeline_context(ticket, events),
        "next_before": page.next_before,
        "identities": identities,
        "attributes": sorted((customer.attributes or {}).items()),
        "other_tickets": other_tickets,
        "reply_form": forms.get("reply_form") or ReplyForm(ticket=ticket),
        "note_form": forms.get("note_form") or NoteForm(),
        "update_form": forms.get("update_form") or TicketUpdateForm(ticket=ticket),
        "merge_form": forms.get("merge_form") or MergeForm(targets=merge_targets),
        "has_merge_targets": merge_targets.exists(),
        "composer_tab": forms.get("composer_tab", "reply"),
    }


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
    return render(request, "agents/ticket.html", _ticket_context(request, ticket))


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
    ticket = _visible_ticket(request, pk)
    message = get_object_or_404(Message.objects.filter(ticket=ticket), pk=message_id)
    return render(request, "agents/ticket.html#delivery", {"message": message})


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
    form = ReplyForm(request.POST, ticket=ticket)
    if form.is_valid():
        try:
            result = record_reply(
                ticket=ticket,
                author=request.user,
                text=form.cleaned_data["text"],
                channel=form.cleaned_data["channel"],
                status=form.status_after(),
                idempotency_key=form.cleaned_data["idempotency_key"],
            )
        except ReplyError as exc:
            form.add_error(None, str(exc))
        else:
            ticket.refresh_from_db()
            if request.htmx:
                context = {"ticket": ticket, "reply_form": ReplyForm(ticket=ticket), "sent": True}
                response = render(request, "agents/ticket.html#reply-form", context)
                return _refresh_headers(response)
            if not result.duplicate:
                messages.success(request, _("Your reply is on its way."))
            return _back_to_ticket(ticket)
    if request.htmx:
        context = {"ticket": ticket, "reply_form": form}
        return render(request, "agents/ticket.html#reply-form", context, status=422)
    return _rerender_page(request, ticket, reply_form=form)


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
    return FileResponse(item.file.open("rb"), as_attachment=True, filename=item.filename)


# --- Preferences -----------------------------------------------------------------------


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
