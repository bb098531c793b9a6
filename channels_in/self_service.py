"""The chat's way to an answer: articles first, a person on request, email when nobody is in.

- As the visitor types, the widget asks for matching help-centre articles
  (`suggest`) and can open one inside the chat (`read_article`).
- A new chat whose first message matches articles is held
  (tickets.handoff.hold_for_self_service) and the visitor is offered them.
  "That answered it" solves the chat; "Talk to a person", or writing again,
  hands it over and it is routed to an agent (tickets/assignment.py).
- When nobody can answer live (no agent of the team online, or outside the
  inbox's business hours) the visitor is told when to expect a reply and asked
  for an email address; the chat then continues by email in the same ticket.

Enabled per inbox with config["self_service"] = true; config["business_hours"]
is a calendar (tickets/hours.py) and config["reply_within_hours"] what to promise
when the team is at work but nobody is online.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from django.utils import timezone

from agents.live import push_chat
from agents.presence import chat_candidates
from helpdesk.live import publish
from knowledge.search import article_for_reader, article_titles, suggest_articles
from tickets.assignment import assign_chat
from tickets.events import MessageReceived
from tickets.handoff import (
    BUTTON,
    MESSAGE,
    continue_by_email,
    hand_over,
    hold_for_self_service,
    record_self_served,
)
from tickets.hours import CalendarError, parse_calendar
from tickets.models import OPEN_STATUSES, Identity, IdentityKind, Inbox, Message, Ticket

from .adapters.widget import article_ids, visitor_groups
from .widgets import agents_online, find_conversation, session_frame

log = logging.getLogger(__name__)

LANGUAGES = ("en", "pl", "cs")
MAX_QUERY = 300
SUGGESTIONS = 3
# Articles the visitor saw that one handoff may record.
MAX_SEEN = 10
DEFAULT_REPLY_WITHIN_HOURS = 4


def enabled(inbox: Inbox) -> bool:
    return isinstance(inbox.config, dict) and inbox.config.get("self_service") is True


def _language(inbox: Inbox, value: Any) -> str:
    return value if value in LANGUAGES else inbox.language


def suggest(inbox: Inbox, query: str, language: Any = None) -> list[dict[str, Any]]:
    """Articles for what the visitor is typing, in their language first."""
    if not enabled(inbox):
        return []
    found = suggest_articles(
        query[:MAX_QUERY], language=_language(inbox, language), limit=SUGGESTIONS
    )
    return [{"id": a.id, "title": a.title, "excerpt": a.excerpt} for a in found]


def read_article(inbox: Inbox, article_id: int) -> dict[str, Any] | None:
    return article_for_reader(article_id) if enabled(inbox) else None


def seen_articles(shown: Any, opened: Any) -> list[dict[str, Any]]:
    """What the visitor saw, as the timeline keeps it: real articles only, titles from us."""
    read = article_ids(opened, MAX_SEEN)
    ids = list(dict.fromkeys([*read, *article_ids(shown, MAX_SEEN)]))[:MAX_SEEN]
    titles = article_titles(ids) if ids else {}
    return [{"id": i, "title": titles[i], "opened": i in read} for i in ids if i in titles]


# --- the away notice -----------------------------------------------------------------


def session(inbox: Inbox, visitor: str) -> dict[str, Any]:
    """The socket's `session` frame, with self-service and the away notice."""
    frame = session_frame(inbox, visitor)
    frame["self_service"] = enabled(inbox)
    # A visitor without an open chat starts afresh: articles first again.
    frame["conversation_open"] = Ticket.objects.filter(
        inbox=inbox,
        customer__identities__kind=IdentityKind.WIDGET,
        customer__identities__value=visitor,
        status__in=OPEN_STATUSES,
        merged_into__isnull=True,
    ).exists()
    frame["away"] = away_notice(inbox, online=frame["agents_online"])
    return frame


def away_notice(
    inbox: Inbox, now: datetime | None = None, *, online: bool | None = None
) -> dict[str, Any] | None:
    """None when someone can answer live; else when the visitor can expect a reply.

    {"reply_by": ISO time the team is back, or null; "within_hours": the usual
    wait while the team is at work, or null}.
    """
    now = now or timezone.now()
    config = inbox.config if isinstance(inbox.config, dict) else {}
    calendar = None
    if config.get("business_hours"):
        try:
            calendar = parse_calendar(config["business_hours"])
        except CalendarError:
            log.warning("inbox %s: business hours are not valid; treated as always open", inbox.pk)
    if calendar is not None and not calendar.is_open(now):
        opens = calendar.next_open(now)
        return {"reply_by": opens.isoformat() if opens else None, "within_hours": None}
    if online is None:
        online = agents_online(inbox.team_id)
    if online:
        return None
    try:
        hours = max(1, int(config.get("reply_within_hours") or DEFAULT_REPLY_WITHIN_HOURS))
    except (TypeError, ValueError):
        hours = DEFAULT_REPLY_WITHIN_HOURS
    return {"reply_by": None, "within_hours": hours}


# --- a new chat, and the visitor writing again ---------------------------------------


def on_visitor_message(event: MessageReceived) -> None:
    """A new chat is held for self-service or routed; a held chat written to is handed over."""
    if event.reopened:
        # Back after the chat was solved (by an article, or an agent): a person answers.
        _route(event)
        return
    if not event.ticket_created:
        held = Ticket.objects.filter(pk=event.ticket_id, awaiting_handoff=True).exists()
        if held and hand_over(ticket_id=event.ticket_id, reason=MESSAGE):
            _route(event)
        return
    inbox = Inbox.objects.filter(pk=event.inbox_id).first()
    if inbox is None:
        return
    if enabled(inbox):
        message = Message.objects.filter(pk=event.message_id).values("body_text", "meta").first()
        asked = ((message or {}).get("meta") or {}).get("self_service") or {}
        if asked.get("handoff"):
            seen = seen_articles(asked.get("articles"), asked.get("opened"))
            hand_over(ticket_id=event.ticket_id, reason=BUTTON, articles=seen)
        elif message and _offer(inbox, event, message["body_text"], asked):
            return
    route_chat(inbox, event.ticket_id, event.customer_id)


def _route(event: MessageReceived) -> None:
    inbox = Inbox.objects.filter(pk=event.inbox_id).first()
    if inbox is not None:
        route_chat(inbox, event.ticket_id, event.customer_id)


def _offer(inbox: Inbox, event: MessageReceived, text: str, asked: dict) -> bool:
    articles = suggest(inbox, text, asked.get("language"))
    seen = [{"id": a["id"], "title": a["title"], "opened": False} for a in articles]
    if not hold_for_self_service(
        ticket_id=event.ticket_id, message_id=event.message_id, articles=seen
    ):
        return False
    frame = {"type": "widget.suggestions", "message": event.message_id, "articles": articles}
    for group in visitor_groups(inbox, event.customer_id):
        publish(group, frame)
    return True


def route_chat(inbox: Inbox, ticket_id: int, customer_id: int) -> None:
    """Give the chat to the least-loaded online agent of the team; if nobody took it, the
    team's pages hear of it, and a visitor nobody can answer live is told when to expect one."""
    assignee = assign_chat(ticket_id, candidates=chat_candidates(inbox.team_id))
    ticket = Ticket.objects.filter(pk=ticket_id).values("assignee_id", "team_id").first()
    if ticket is None:
        return
    if assignee is not None or ticket["assignee_id"] is None:
        push_chat(
            ticket_id=ticket_id,
            customer_id=customer_id,
            assignee_id=ticket["assignee_id"],
            team_id=ticket["team_id"],
        )
    groups = visitor_groups(inbox, customer_id)
    if enabled(inbox):
        for group in groups:
            publish(group, {"type": "widget.handoff", "state": "routed"})
    away = away_notice(inbox)
    if away is None:
        return
    # Nobody can answer live: a visitor whose address we have is answered by email.
    address = (
        Identity.objects.filter(customer_id=customer_id, kind=IdentityKind.EMAIL)
        .order_by("-verified", "-id")
        .values_list("value", flat=True)
        .first()
    )
    if address:
        continue_by_email(ticket_id=ticket_id, address=address, reachable=True)
    for group in groups:
        publish(group, {"type": "widget.away", **away, "email": address or ""})


# --- the visitor's buttons ------------------------------------------------------------


def visitor_hand_over(*, inbox: Inbox, visitor: str, shown: Any, opened: Any) -> str:
    """ "Talk to a person". Returns "routed", "waiting" (already with the team) or
    "no_conversation" (nothing written yet: the next message asks for a person)."""
    conversation = find_conversation(inbox=inbox, visitor=visitor)
    if conversation is None:
        return "no_conversation"
    ticket_id, customer_id = conversation
    if hand_over(ticket_id=ticket_id, reason=BUTTON, articles=seen_articles(shown, opened)):
        route_chat(inbox, ticket_id, customer_id)
        return "routed"
    return "waiting"


def visitor_answered(*, inbox: Inbox, visitor: str, shown: Any, opened: Any) -> bool:
    """ "That answered it": the held chat is solved by self-service."""
    conversation = find_conversation(inbox=inbox, visitor=visitor)
    if conversation is None:
        return False
    return record_self_served(ticket_id=conversation[0], articles=seen_articles(shown, opened))


def reply_by_email(*, inbox: Inbox, visitor: str, address: str) -> bool:
    """The visitor left `address` (already stored as their claim) to be answered by email.
    True when they can be answered there: the address is their customer's."""
    conversation = find_conversation(inbox=inbox, visitor=visitor)
    if conversation is None:
        return False
    ticket_id, customer_id = conversation
    reachable = Identity.objects.filter(
        customer_id=customer_id, kind=IdentityKind.EMAIL, value=address
    ).exists()
    continue_by_email(ticket_id=ticket_id, address=address, reachable=reachable)
    return reachable
