"""Agent pages about the channels themselves: every inbox, how its mail
arrives, whether polling works, and the mail we could not read.

Any agent sees the list (inbox names and addresses are not secret); the
mail itself, like tickets, only for the inboxes of the agent's teams, and
everything for managers and admins.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Count, Prefetch, prefetch_related_objects
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_GET

from agents.views import agent_required
from tickets.access import sees_everything, team_ids
from tickets.models import Channel, Inbox

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
@require_GET
def inboxes(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "channels_in/inboxes.html",
        {"rows": list_inbox_rows(request.user), "failed_shown": FAILED_SHOWN},
    )


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
