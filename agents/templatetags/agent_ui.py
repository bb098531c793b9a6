"""Small presentation helpers for the agent UI: labels, initials, timeline lines."""

from __future__ import annotations

import html as html_lib
import re
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import unquote

from django import template
from django.conf import settings
from django.contrib.humanize.templatetags.humanize import NaturalTimeFormatter, naturaltime
from django.template.defaultfilters import filesizeformat
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.timesince import timesince
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from tickets.models import (
    Attachment,
    Channel,
    Delivery,
    Direction,
    EventKind,
    IdentityKind,
    Message,
    Priority,
    Status,
    TimelineEvent,
)
from tickets.sanitize import block_images

register = template.Library()


def _label(choices, value) -> str:
    try:
        return str(choices(value).label)
    except ValueError:
        return str(value)


@register.filter
def status_label(value) -> str:
    return _label(Status, value)


@register.filter
def priority_label(value) -> str:
    try:
        return _label(Priority, int(value))
    except (TypeError, ValueError):
        return str(value)


@register.filter
def channel_label(value) -> str:
    return _label(Channel, value)


@register.filter
def delivery_label(value) -> str:
    return _label(Delivery, value)


@register.filter
def user_name(user) -> str:
    if user is None:
        return ""
    return user.get_full_name() or user.get_username()


@register.filter
def initials(name) -> str:
    words = [w for w in str(name or "").replace("@", " ").replace(".", " ").split() if w]
    if not words:
        return "?"
    letters = words[0][0] + (words[-1][0] if len(words) > 1 else "")
    return letters.upper()


@register.filter
def avatar_hue(value) -> int:
    """A stable colour per person, so the same customer always looks the same."""
    return sum(ord(c) for c in str(value or "")) * 37 % 360


@register.filter
def ago(value) -> str:
    """humanize's naturaltime with one unit past a day ("2 days ago", not "2 days,
    2 hours ago"), so it fits a list column; Django's own translations."""
    if isinstance(value, datetime) and timezone.is_aware(value):
        now = timezone.now()
        if value < now and (now - value).days:
            delta = timesince(
                value, now, time_strings=NaturalTimeFormatter.past_substrings, depth=1
            )
            return NaturalTimeFormatter.time_strings["past-day"] % {"delta": delta}
    return naturaltime(value)


@register.filter
def row_preview(ticket) -> str:
    """The latest message's preview, unless it only repeats the subject: a chat or SMS
    ticket is named after its first message (tickets/ingest.py)."""
    preview, subject = ticket.preview or "", ticket.subject or ""
    if preview == subject or (subject.endswith("…") and preview.startswith(subject[:-1])):
        return ""
    return preview


@register.filter
def filesize(value) -> str:
    size = float(value or 0)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return str(value)


# The channel stores folded quotes with this placeholder summary (channels_in's
# FOLD_SUMMARY); it is put into words here, in the agent's language.
_FOLD_PLACEHOLDER = "<summary>…</summary>"
_CID_SRC = re.compile(r'\ssrc="cid:([^"]*)"', re.I)


@dataclass(frozen=True)
class MessageBody:
    html: SafeString
    # Some images wait for the agent's "Show images" (tickets/sanitize.py).
    remote_images: bool
    # The attachments to list under the message: those not shown in its body.
    attachments: list[Attachment]


def _content_id(value: str) -> str:
    """A cid: URL's id as stored on an Attachment (RFC 2392: URL-encoded, no brackets)."""
    return unquote(html_lib.unescape(value)).strip().strip("<>")


@register.simple_tag
def message_body(message: Message, ticket_id: int, expand_quotes: bool = False) -> MessageBody:
    """A message's stored HTML made ready to show.

    cid: images point at the message's attachments (served through the
    permission-checked attachment view), folded quotes get a translated
    toggle, and remote images stay blocked. Uses the attachments prefetched
    with the timeline, so a page of messages costs no extra queries.
    """
    attachments = list(message.attachments.all())
    html = message.body_html or ""
    if not html:
        return MessageBody(html=SafeString(""), remote_images=False, attachments=attachments)
    if message.direction == Direction.IN:
        # Rows stored before remote images were blocked at ingest.
        html = block_images(html)
    by_cid: dict[str, Attachment] = {}
    for item in attachments:
        if item.content_id:
            by_cid.setdefault(item.content_id, item)
            by_cid.setdefault(item.content_id.lower(), item)
    shown: set[int] = set()

    def inline(match: re.Match[str]) -> str:
        cid = _content_id(match.group(1))
        item = by_cid.get(cid) or by_cid.get(cid.lower())
        if item is None:
            return match.group(0)
        shown.add(item.pk)
        return f' src="{escape(reverse("agents:attachment", args=[ticket_id, item.pk]))}"'

    html = _CID_SRC.sub(inline, html)
    summary = format_html(
        '<summary title="{0}"><span class="visually-hidden">{0}</span></summary>',
        _("Show quoted text"),
    )
    html = html.replace(_FOLD_PLACEHOLDER, summary)
    if expand_quotes:
        html = html.replace("<details>", "<details open>")
    return MessageBody(
        # body_html is sanitized before it is stored (tickets/sanitize.py).
        html=mark_safe(html),  # noqa: S308
        remote_images="data-remote-src=" in html,
        attachments=[item for item in attachments if item.pk not in shown],
    )


@register.simple_tag
def skipped_attachment(item: dict) -> str:
    """Why a file of an inbound mail was not kept, in one line."""
    name = item.get("filename") or _("(no name)")
    if item.get("reason") == "empty":
        return _("Not kept: %(name)s — the file was empty") % {"name": name}
    return _("Not kept: %(name)s (%(size)s) — larger than the %(limit)s limit") % {
        "name": name,
        "size": filesizeformat(item.get("size") or 0),
        "limit": filesizeformat(settings.EMAIL_MAX_ATTACHMENT_BYTES),
    }


def _ticket_link(ticket_id) -> SafeString:
    if not isinstance(ticket_id, int):
        return format_html("#{}", ticket_id)
    return format_html(
        '<a href="{}">#{}</a>', reverse("agents:ticket", args=[ticket_id]), ticket_id
    )


def _identity(value: str) -> str:
    """An identity as stored ("phone:+48601234567") as agents read it ("+48601234567 (Phone)")."""
    kind, sep, address = str(value).partition(":")
    if not sep:
        return str(value)
    return f"{address} ({_label(IdentityKind, kind)})"


def _by(actor: str, with_actor: str, without_actor: str, **values) -> SafeString:
    """The line naming who did it, or, for changes made by the system or an import, without."""
    if actor:
        return format_html(with_actor, actor=actor, **values)
    return format_html(without_actor, **values)


def _names(values) -> str:
    return ", ".join(str(v) for v in values) if values else "—"


@register.simple_tag
def event_line(event: TimelineEvent) -> SafeString:
    """One compact, translated sentence for a non-message timeline event."""
    data = event.data or {}
    actor = user_name(event.actor) if event.actor_id else ""
    old, new = data.get("from"), data.get("to")
    kind = event.kind

    if kind == EventKind.TICKET_CREATED:
        # After a merge the event belongs to the target ticket; the ticket it is
        # about is kept in its data (tickets/merge.py).
        ticket_id = data.get("ticket_id") or event.ticket_id
        channel = channel_label(
            data.get("channel") or (event.ticket.last_channel if event.ticket else "")
        )
        if data.get("split_from"):
            if ticket_id == data["split_from"]:
                # Merged back before merges kept the id: which ticket it was is lost.
                return format_html(
                    _("A ticket was split off from {source}"),
                    source=_ticket_link(data["split_from"]),
                )
            return format_html(
                _("Ticket {ticket} split off from {source}"),
                ticket=_ticket_link(ticket_id),
                source=_ticket_link(data["split_from"]),
            )
        line = format_html(
            _("Ticket {ticket} opened via {channel}"),
            ticket=_ticket_link(ticket_id),
            channel=channel,
        )
        if data.get("refused_thread"):
            # Not a follow-up: a claim the ticket's banner explains (and links, if visible).
            line += format_html(
                " " + _("(claimed to answer {ticket})"), ticket=f"#{data['refused_thread']}"
            )
        elif data.get("follows"):
            line += format_html(" " + _("(follows {ticket})"), ticket=_ticket_link(data["follows"]))
        return line
    if kind == EventKind.STATUS:
        return _by(
            actor,
            _("{actor} changed the status from {old} to {new}"),
            _("Status changed from {old} to {new}"),
            old=status_label(old),
            new=status_label(new),
        )
    if kind == EventKind.PRIORITY:
        return _by(
            actor,
            _("{actor} changed the priority from {old} to {new}"),
            _("Priority changed from {old} to {new}"),
            old=priority_label(old),
            new=priority_label(new),
        )
    if kind == EventKind.ASSIGNEE:
        if not new:
            return _by(actor, _("{actor} unassigned the ticket"), _("Ticket unassigned"))
        return _by(
            actor,
            _("{actor} assigned the ticket to {new}"),
            _("Ticket assigned to {new}"),
            new=new,
        )
    if kind == EventKind.TEAM:
        if not new:
            return _by(
                actor,
                _("{actor} removed the ticket from its team"),
                _("Ticket removed from its team"),
            )
        return _by(
            actor,
            _("{actor} moved the ticket to team {new}"),
            _("Ticket moved to team {new}"),
            new=new,
        )
    if kind == EventKind.TAGS:
        return _by(
            actor,
            _("{actor} changed the tags to {new}"),
            _("Tags changed to {new}"),
            new=_names(new),
        )
    if kind == EventKind.REOPENED:
        return format_html(_("Ticket reopened by a new message from the customer"))
    if kind == EventKind.TICKET_MERGED:
        count = int(data.get("messages") or 0)
        return _by(
            actor,
            ngettext(
                "{actor} merged ticket {source} “{subject}” into this one ({count} message)",
                "{actor} merged ticket {source} “{subject}” into this one ({count} messages)",
                count,
            ),
            ngettext(
                "Ticket {source} “{subject}” was merged into this one ({count} message)",
                "Ticket {source} “{subject}” was merged into this one ({count} messages)",
                count,
            ),
            source=f"#{data.get('source_id')}",
            subject=data.get("source_subject") or "",
            count=count,
        )
    if kind == EventKind.TICKET_SPLIT:
        count = len(data.get("messages") or [])
        return _by(
            actor,
            ngettext(
                "{actor} split {count} message off into ticket {ticket}",
                "{actor} split {count} messages off into ticket {ticket}",
                count,
            ),
            ngettext(
                "{count} message was split off into ticket {ticket}",
                "{count} messages were split off into ticket {ticket}",
                count,
            ),
            count=count,
            ticket=_ticket_link(data.get("new_ticket_id")),
        )
    if kind == EventKind.CUSTOMER_MERGED:
        return _by(
            actor,
            _("{actor} merged customer “{name}” into this customer"),
            _("Customer “{name}” was merged into this customer"),
            name=data.get("source_name") or f"#{data.get('source_id')}",
        )
    if kind == EventKind.IDENTITY_LINKED:
        return _by(
            actor,
            _("{actor} linked the identity {identity}"),
            _("The identity {identity} was linked"),
            identity=_identity(data.get("identity", "")),
        )
    if kind == EventKind.PARTICIPANT_ADDED:
        name = data.get("name") or _("Customer #%(id)s") % {"id": data.get("customer")}
        return format_html(_("{name} joined the ticket (on Cc)"), name=name)
    if kind == EventKind.SELF_SERVICE:
        return _self_service_line(data)
    if kind == EventKind.CONTINUED_BY_EMAIL:
        if data.get("reachable"):
            return format_html(
                _("Nobody could answer live: the visitor is answered by email at {address}"),
                address=data.get("address", ""),
            )
        return format_html(
            _(
                "The visitor asked to be answered at {address}, which belongs to another "
                "customer: confirm their claim before answering there"
            ),
            address=data.get("address", ""),
        )
    if kind in (EventKind.SURVEY_SENT, EventKind.SURVEY_ANSWERED):
        return _survey_line(kind, data)
    return format_html("{}", event.get_kind_display())


def _survey_line(kind: str, data: dict) -> SafeString:
    """feedback/surveys.py: a survey sent on solving, and the customer's answer."""
    from feedback.models import SurveyKind

    survey = _label(SurveyKind, data.get("kind", ""))
    if kind == EventKind.SURVEY_SENT:
        return format_html(
            _("{survey} survey sent by {channel}"),
            survey=survey,
            channel=channel_label(data.get("channel", "")),
        )
    line = format_html(
        _("The customer answered the {survey} survey: {score} of {max}"),
        survey=survey,
        score=data.get("score"),
        max=data.get("max"),
    )
    if data.get("comment"):
        line = format_html(
            _("{line}, with a comment: “{comment}”"), line=line, comment=data["comment"]
        )
    return line


def _article_list(articles: list) -> SafeString:
    """Titles, each marked when the visitor opened it."""
    parts = []
    for article in articles if isinstance(articles, list) else []:
        title = str((article or {}).get("title", ""))
        if (article or {}).get("opened"):
            parts.append(format_html(_("“{title}” (read)"), title=title))
        else:
            parts.append(format_html(_("“{title}”"), title=title))
    return mark_safe(", ".join(parts))  # noqa: S308 - each part is escaped by format_html


def _self_service_line(data: dict) -> SafeString:
    action, articles = data.get("action"), data.get("articles") or []
    if action == "suggested":
        return format_html(
            _("The visitor was offered articles first: {articles}"),
            articles=_article_list(articles),
        )
    if action == "answered":
        return format_html(
            _("The visitor said an article answered them ({articles}); solved without an agent"),
            articles=_article_list(articles),
        )
    if data.get("reason") == "message":
        return format_html(_("The visitor wrote again, so the chat went to the team"))
    if articles:
        return format_html(
            _("The visitor asked for a person after seeing {articles}"),
            articles=_article_list(articles),
        )
    return format_html(_("The visitor asked for a person"))


@register.filter
def event_icon(kind: str) -> str:
    """A short CSS hook per event kind (the icon itself is drawn in CSS)."""
    return {
        EventKind.STATUS: "status",
        EventKind.ASSIGNEE: "person",
        EventKind.PRIORITY: "flag",
        EventKind.TAGS: "tag",
        EventKind.TEAM: "team",
        EventKind.TICKET_MERGED: "merge",
        EventKind.TICKET_SPLIT: "split",
        EventKind.CUSTOMER_MERGED: "merge",
        EventKind.IDENTITY_LINKED: "link",
        EventKind.REOPENED: "status",
        EventKind.TICKET_CREATED: "new",
        EventKind.PARTICIPANT_ADDED: "person",
        EventKind.SELF_SERVICE: "book",
        EventKind.CONTINUED_BY_EMAIL: "mail",
    }.get(kind, "dot")


@dataclass(frozen=True)
class WindowHint:
    # "Messenger window closes in 5 h"
    text: str
    # The same with %(duration)s left in, for the script to count down.
    template: str
    closed: str


def duration_left(until: datetime, now: datetime | None = None) -> str:
    """How long until `until`, short and rounded down: "5 h", "40 min"."""
    seconds = (until - (now or timezone.now())).total_seconds()
    if seconds >= 3600:
        # Translators: hours left, abbreviated ("Messenger window closes in 5 h").
        return _("%(count)s h") % {"count": int(seconds // 3600)}
    # Translators: minutes left, abbreviated ("Messenger window closes in 40 min").
    return _("%(count)s min") % {"count": max(1, int(seconds // 60))}


@register.simple_tag
def window_hint(channel) -> WindowHint:
    """The quiet line under a channel that may be used for a while yet (Messenger's 24 h)."""
    sentence = _("%(channel)s window closes in %(duration)s")
    left = duration_left(channel.reach.closes_at)
    closed = _("The %(channel)s window has closed. Reload the page to see what can still be sent.")
    return WindowHint(
        text=sentence % {"channel": channel.name, "duration": left},
        template=sentence % {"channel": channel.name, "duration": "%(duration)s"},
        closed=closed % {"channel": channel.name},
    )


def _media_kind(content_type: str) -> str:
    kind = (content_type or "").split("/", 1)[0].lower()
    return {
        "image": _("Picture"),
        "video": _("Video"),
        "audio": _("Audio"),
    }.get(kind, _("File"))


@register.simple_tag
def media_problems(message: Message) -> list[str]:
    """The files of an MMS or Messenger message that could not be fetched, each with why."""
    errors = (message.meta or {}).get("media_errors") or {}
    if not isinstance(errors, dict):
        return []
    items = {
        str(item.get("key")): item
        for item in (message.meta or {}).get("media") or []
        if isinstance(item, dict)
    }
    lines = []
    for key, reason in errors.items():
        item = items.get(str(key), {})
        name = item.get("filename") or _media_kind(str(item.get("content_type", "")))
        reason = str(reason).strip()
        lines.append(
            _("%(file)s not fetched: %(reason)s") % {"file": name, "reason": reason}
            if reason
            else _("%(file)s not fetched.") % {"file": name}
        )
    return lines


# Counts the script puts into plural sentences: it picks, by the language's plural
# rules (Intl.PluralRules), the sample of the same category. Enough for en, pl and cs.
PLURAL_SAMPLES = (0, 1, 2, 5, 12, 21, 22, 101)


@register.simple_tag
def ui_strings() -> dict:
    """Strings the browser script shows, translated here (no JS catalog needed)."""
    return {
        # The reply box's SMS and Messenger length counter.
        "smsSegments": {
            str(n): ngettext("%(count)s SMS segment", "%(count)s SMS segments", n)
            for n in PLURAL_SAMPLES
        },
        "smsLeft": {
            str(n): ngettext(
                "%(count)s character left in this segment",
                "%(count)s characters left in this segment",
                n,
            )
            for n in PLURAL_SAMPLES
        },
        "smsUnicode": _("Unicode (UCS-2) because of %(chars)s — %(count)s characters per segment"),
        "smsGsm": _("GSM-7 — %(count)s characters per segment"),
        "messengerLength": _("%(count)s of %(max)s characters"),
        "messengerTooLong": _(
            "Messenger takes at most %(max)s characters; this reply has %(count)s. "
            "Shorten it or split it into two replies."
        ),
        "windowHours": _("%(count)s h"),
        "windowMinutes": _("%(count)s min"),
        "newActivity": _("New activity on ticket %(ref)s"),
        "disconnected": _("Live updates paused, reconnecting…"),
        "deliveryChanged": _("Delivery state: %(state)s"),
        "requestFailed": _("That did not work. Reload the page and try again."),
        "customerTyping": _("%(name)s is typing…"),
        "newChat": _("(%(count)s) New chat – %(title)s"),
        "chatAssigned": _("A new chat was assigned to you."),
        "chatWaiting": _("A new chat is waiting in your team's queue."),
    }


@register.simple_tag
def user_role(user) -> str:
    from tickets.access import role_of

    return role_of(user) or ""
