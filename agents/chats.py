"""The live conversations view: the page an agent on chat duty keeps open all day.

Chats are the open tickets of the chat widget (the ticket's inbox is a widget
inbox, or the customer last wrote through one) that the agent may see
(visible_tickets). They are listed in sections: waiting for an agent, mine and,
for agents who can see them, other agents' chats. The whole list costs the same
few queries however many chats there are, so the page can re-fetch it on every
live notice (static/js/app.js); the chat picked from the list opens beside it,
as the ticket page's own conversation.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.contrib import messages
from django.db import transaction
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.timesince import timesince
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from tickets.access import sees_everything, team_ids, visible_tickets
from tickets.assignment import open_chat_counts
from tickets.changes import ChangeError, update_ticket
from tickets.models import Channel, Status, Ticket

from .models import Profile
from .views import agent_required

# Solved, closed and on-hold chats are not live; a merged-away one lives on in its target.
LIVE_STATUSES = (Status.NEW, Status.OPEN, Status.PENDING)
# A page kept open all day stays light; the inbox lists the rest.
MAX_CHATS = 250


def live_chats(user) -> QuerySet[Ticket]:
    """The live chats this user may see."""
    return visible_tickets(user).filter(
        Q(inbox__channel=Channel.WIDGET) | Q(last_channel=Channel.WIDGET),
        status__in=LIVE_STATUSES,
        merged_into__isnull=True,
    )


@dataclass(frozen=True)
class Chat:
    ticket: Ticket

    @property
    def customer_waits(self) -> bool:
        """The customer wrote last: it is our turn."""
        customer_at = self.ticket.last_customer_message_at
        agent_at = self.ticket.last_agent_message_at
        return customer_at is not None and (agent_at is None or customer_at > agent_at)

    @property
    def last_customer_at(self) -> datetime:
        return self.ticket.last_customer_message_at or self.ticket.created_at

    @property
    def waiting_since(self) -> datetime | None:
        """Since when the customer has waited for an answer: the chat's start when no
        agent wrote yet, else their latest unanswered message; None when answered."""
        if self.ticket.last_agent_message_at is None:
            return self.ticket.created_at
        return self.ticket.last_customer_message_at if self.customer_waits else None

    @property
    def waited(self) -> str:
        """How long they have waited, in one unit ("4 minutes"); empty under a minute."""
        since = self.waiting_since
        if since is None or timezone.now() - since < timedelta(minutes=1):
            return ""
        return timesince(since, depth=1)

    @property
    def version(self) -> str:
        """Changes when the row shows something new (the page marks it fresh)."""
        t = self.ticket
        return f"{t.last_activity_at.timestamp()}-{t.assignee_id or 0}-{t.status}"


@dataclass
class ChatBoard:
    waiting: list[Chat] = field(default_factory=list)
    mine: list[Chat] = field(default_factory=list)
    others: list[Chat] = field(default_factory=list)
    show_others: bool = False
    truncated: bool = False
    load: int = 0
    max_chats: int = 0

    @property
    def empty(self) -> bool:
        return not (self.waiting or self.mine or self.others)

    @property
    def load_percent(self) -> int:
        if not self.max_chats:
            return 100 if self.load else 0
        return min(100, round(100 * self.load / self.max_chats))

    @property
    def at_limit(self) -> bool:
        return self.load >= self.max_chats


def _needs_answer_first(chat: Chat) -> tuple:
    """Chats where the customer waits come first, longest waiting first; then the most recent."""
    if chat.customer_waits:
        return (0, chat.last_customer_at.timestamp())
    return (1, -chat.ticket.last_activity_at.timestamp())


def collect_chats(user) -> ChatBoard:
    """Every live chat the user may see, sorted into sections: 2 queries whatever their number."""
    rows = list(
        live_chats(user)
        .select_related("customer", "assignee")
        .order_by("-last_activity_at", "-id")[: MAX_CHATS + 1]
    )
    board = ChatBoard(
        # Agents see their teams' chats; without a team only their own, so no others.
        show_others=sees_everything(user) or bool(team_ids(user)),
        truncated=len(rows) > MAX_CHATS,
        # The same count automatic assignment holds against the agent's limit.
        load=open_chat_counts([user.pk]).get(user.pk, 0),
        max_chats=_max_chats(user),
    )
    for ticket in rows[:MAX_CHATS]:
        chat = Chat(ticket=ticket)
        if ticket.assignee_id is None:
            board.waiting.append(chat)
        elif ticket.assignee_id == user.pk:
            board.mine.append(chat)
        elif board.show_others:
            board.others.append(chat)
    far = timezone.now() + timedelta(days=1)
    board.waiting.sort(key=lambda c: ((c.waiting_since or far).timestamp(), c.ticket.pk))
    board.mine.sort(key=_needs_answer_first)
    board.others.sort(key=_needs_answer_first)
    return board


def _max_chats(user) -> int:
    profile = getattr(user, "agent_profile", None)  # loaded for every request (middleware)
    if profile is None:
        return Profile._meta.get_field("max_chats").get_default()
    return profile.max_chats


def _selected(request: HttpRequest) -> int | None:
    try:
        return int(request.GET.get("chat", ""))
    except ValueError:
        return None


def _board_context(request: HttpRequest) -> dict:
    board = collect_chats(request.user)
    profile = getattr(request.user, "agent_profile", None)
    return {
        "board": board,
        "selected_id": _selected(request),
        "availability": getattr(profile, "availability", "away"),
        "chats_waiting": len(board.waiting),
    }


@agent_required
@require_GET
def chats(request: HttpRequest) -> HttpResponse:
    """The page: the list, and beside it on wide screens the chat picked from it."""
    context = _board_context(request)
    # What the page's script says aloud (static/js/app.js), in the agent's language.
    context["chat_strings"] = {
        "waiting": _("New chat waiting for an agent: %(name)s"),
        "mine": _("New chat assigned to you: %(name)s"),
        "message": _("New message from %(name)s"),
        "loading": _("Loading the chat…"),
        "gone": _("This chat is no longer available to you."),
    }
    return render(request, "agents/chats.html", context)


@agent_required
@require_GET
def chat_list(request: HttpRequest) -> HttpResponse:
    """The list alone, for live updates: fetched again on every notice about a chat."""
    return render(request, "agents/chats.html#lists", _board_context(request))


@agent_required
@require_POST
def chat_take(request: HttpRequest, pk: int) -> HttpResponse:
    """The agent takes a chat from the queue. Two agents taking it at once: the first wins."""
    ticket = get_object_or_404(live_chats(request.user), pk=pk)
    taken_by = None
    try:
        with transaction.atomic():
            locked = Ticket.objects.select_for_update().get(pk=ticket.pk)
            if locked.assignee_id not in (None, request.user.pk):
                taken_by = locked.assignee
            elif locked.assignee_id is None:
                update_ticket(ticket=locked, actor=request.user, assignee=request.user)
    except ChangeError as exc:
        return _taken(request, ticket, str(exc), ok=False)
    if taken_by is not None:
        name = taken_by.get_full_name() or taken_by.get_username()
        text = _("%(name)s took this chat first.") % {"name": name}
        return _taken(request, ticket, text, ok=False)
    return _taken(request, ticket, _("The chat is yours."), ok=True)


def _taken(request: HttpRequest, ticket: Ticket, text: str, *, ok: bool) -> HttpResponse:
    if request.htmx:
        response = render(
            request, "agents/chats.html#take-result", {"text": text, "ok": ok, "ticket": ticket}
        )
        # The list moves the chat to "Mine"; the open conversation's header says who has it.
        response["HX-Trigger"] = json.dumps({"chats-refresh": True, "ticket-changed": True})
        return response
    (messages.success if ok else messages.error)(request, text)
    return redirect(f"{reverse('agents:chats')}?chat={ticket.pk}")
