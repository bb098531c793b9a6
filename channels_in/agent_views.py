"""Agent pages about the channels themselves: every inbox, how its mail
arrives, whether polling works, and the mail we could not read.

Any agent sees the list (inbox names and addresses are not secret); the
mail itself, like tickets, only for the inboxes of the agent's teams, and
everything for managers and admins. Managers and admins also edit each inbox's
automatic acknowledgement here (tickets/acknowledge.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied
from django.db.models import Count, Prefetch, prefetch_related_objects
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_GET, require_http_methods

from agents.views import agent_required
from tickets.access import sees_everything, team_ids
from tickets.acknowledge import (
    DEFAULT_TEMPLATES,
    VARIABLES,
    TemplateError,
    set_acknowledgement,
    settings_of,
)
from tickets.models import Channel, Inbox, Language

from .email.imap import has_imap
from .inboxes import webhook_path
from .models import Mailbox, RawInbound

FAILED_SHOWN = 10


@dataclass
class InboxRow:
    inbox: Inbox
    path: str
    # Only for email inboxes polled over IMAP.
    imap: dict | None = None
    mailbox: Mailbox | None = None
    state: str = ""  # "ok", "failing", "waiting" (not polled yet), "paused" (inactive)
    may_read_mail: bool = False
    failed_mail: list[RawInbound] = field(default_factory=list)
    failed_count: int = 0
    # The acknowledgement form, for managers and admins.
    ack: dict | None = None


def may_read_mail(user, inbox: Inbox) -> bool:
    return sees_everything(user) or (inbox.team_id is not None and inbox.team_id in team_ids(user))


def list_inbox_rows(user) -> list[InboxRow]:
    """Every inbox with its polling state and latest unreadable mail, in a fixed few queries."""
    inboxes = list(
        Inbox.objects.select_related("team", "mailbox").defer("secrets").order_by("name", "id")
    )
    readable = [inbox for inbox in inboxes if may_read_mail(user, inbox)]
    failed = RawInbound.objects.filter(state=RawInbound.State.FAILED)
    counts: dict[int, int] = {}
    if readable:
        # The body (possibly megabytes) stays in the database until downloaded.
        latest = failed.only("id", "inbox_id", "error", "received_at", "attempts").order_by(
            "-received_at", "-id"
        )
        prefetch_related_objects(
            readable,
            Prefetch("raw_inbound", queryset=latest[:FAILED_SHOWN], to_attr="failed_mail"),
        )
        counts = dict(
            failed.filter(inbox__in=readable)
            .order_by()
            .values("inbox_id")
            .annotate(n=Count("id"))
            .values_list("inbox_id", "n")
        )
    rows = []
    for inbox in inboxes:
        row = InboxRow(inbox=inbox, path=webhook_path(inbox))
        if has_imap(inbox):
            row.imap = inbox.config["imap"]
            row.mailbox = getattr(inbox, "mailbox", None)
            row.state = _polling_state(inbox, row.mailbox)
        row.may_read_mail = may_read_mail(user, inbox)
        if row.may_read_mail:
            row.failed_mail = getattr(inbox, "failed_mail", [])
            row.failed_count = counts.get(inbox.pk, 0)
        rows.append(row)
    return rows


def _polling_state(inbox: Inbox, mailbox: Mailbox | None) -> str:
    if not inbox.is_active:
        return "paused"
    if mailbox is None or (mailbox.failures == 0 and mailbox.last_success_at is None):
        return "waiting"
    return "failing" if mailbox.failures else "ok"


@agent_required
@require_http_methods(["GET", "POST"])
def inboxes(request: HttpRequest) -> HttpResponse:
    """The inboxes; a manager's POST saves one inbox's acknowledgement (a template with an
    unknown variable is refused, naming it, and the page shows what was typed)."""
    rows = list_inbox_rows(request.user)
    editing = sees_everything(request.user)
    posted: dict | None = None
    if request.method == "POST":
        if not editing:
            raise PermissionDenied
        posted = _posted_acknowledgement(request)
        if posted["error"] is None:
            url = reverse("channels_in:inboxes")
            return HttpResponseRedirect(f"{url}?saved={posted['inbox']}#inbox-{posted['inbox']}")
    if editing:
        saved = request.GET.get("saved", "")
        for row in rows:
            row.ack = _acknowledgement_form(row.inbox, saved=saved == str(row.inbox.pk))
            if posted and posted["inbox"] == row.inbox.pk:
                row.ack.update(posted, open=True)
    return render(
        request,
        "channels_in/inboxes.html",
        {
            "rows": rows,
            "failed_shown": FAILED_SHOWN,
            "variables": [f"{{{name}}}" for name in VARIABLES],
        },
        status=400 if posted else 200,
    )


def _acknowledgement_form(inbox: Inbox, *, saved: bool) -> dict:
    current = settings_of(inbox)
    templates = current.get("templates") or {}
    return {
        "inbox": inbox.pk,
        "enabled": current.get("enabled") is True,
        "templates": [
            (value, label, templates.get(value) or DEFAULT_TEMPLATES[value])
            for value, label in Language.choices
        ],
        "error": None,
        "saved": saved,
        "open": saved,
    }


def _posted_acknowledgement(request: HttpRequest) -> dict:
    try:
        inbox_id = int(request.POST.get("inbox", ""))
    except ValueError:
        raise Http404 from None
    get_object_or_404(Inbox, pk=inbox_id)
    enabled = request.POST.get("enabled") == "on"
    texts = {value: request.POST.get(f"template_{value}", "") for value in Language.values}
    error = None
    try:
        set_acknowledgement(inbox_id=inbox_id, enabled=enabled, templates=texts)
    except TemplateError as exc:
        error = str(exc)
    return {
        "inbox": inbox_id,
        "enabled": enabled,
        "templates": [(value, label, texts[value]) for value, label in Language.choices],
        "error": error,
        "saved": False,
    }


@agent_required
@require_GET
def widget_preview(request: HttpRequest, inbox_id: int) -> HttpResponse:
    """A plain page with the chat on it, as a visitor of the inbox's site sees it.

    The helpdesk's own origin is always allowed to embed its chats, so this works
    before any site is configured; what is written here becomes a real ticket.
    """
    inbox = get_object_or_404(Inbox, pk=inbox_id, channel=Channel.WIDGET, is_active=True)
    return render(request, "channels_in/widget_preview.html", {"inbox": inbox})


@agent_required
@require_GET
def raw_mail(request: HttpRequest, inbox_id: int, raw_id: int) -> HttpResponse:
    """A stored mail exactly as it arrived, as an .eml file (for a mail client or a bug report)."""
    raw = get_object_or_404(
        RawInbound.objects.select_related("inbox"),
        pk=raw_id,
        inbox_id=inbox_id,
        channel=Channel.EMAIL,
    )
    if not may_read_mail(request.user, raw.inbox):
        raise Http404
    response = HttpResponse(bytes(raw.body), content_type="message/rfc822")
    response["Content-Disposition"] = content_disposition_header(
        as_attachment=True, filename=f"inbox-{inbox_id}-mail-{raw_id}.eml"
    )
    return response
