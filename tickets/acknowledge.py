"""Acknowledging a new ticket: the inbox's template, with an honest expected reply time.

On a new ticket's first message the customer hears back at once, on the same channel,
in their language: the inbox's template (config["acknowledgement"]) with the customer's
first name, the ticket reference and when to expect an answer. That time comes from
the live queue and the inbox's business hours, not a fixed sentence:

- typical: the median first-response time of the inbox's recent tickets, counted in
  business time (tickets/hours.py); with too little history, the inbox's
  config["reply_within_hours"] (the same promise the chat widget's away notice makes);
- the live queue: when the team has more unanswered tickets per agent than the typical
  time reflects (ACK_QUEUE_PER_AGENT), the wait grows in proportion;
- business hours: the wait counts open time only, so outside it the sentence says when
  the team is back ("we usually reply within 2 hours; it is outside our working hours
  now, so expect an answer by 9:30 tomorrow").

Once per ticket (the idempotency key ack:<ticket id>), at most one per customer in
ACK_THROTTLE_HOURS, never in answer to automatic mail. The channel has the last word
when it sends (tickets/automatic.py): RFC 3834 loop rules for email, SMS opt-outs.

    config["acknowledgement"] = {
        "enabled": true,
        "templates": {"en": "Hi {first_name}, ...", "pl": "...", "cs": "..."},  # optional
    }

A template's variables are {first_name}, {ticket}, {expected_reply} and {inbox};
"{{" and "}}" write a brace. validate_config() refuses anything else when saved.

Exactly once, also when a worker is killed (tests/automation/test_acknowledge_worker.py):
- deciding and recording are one transaction under the customer's row lock, keyed by
  ack:<ticket id>: a worker killed before the commit leaves nothing and the task (acks_late,
  rejected on worker loss) runs again; a rerun after the commit finds the key;
- the outbox row is claimed (pending -> sending, committed) just before the adapter is
  called (channels_in/tasks.py): killed before the claim, the row is still pending and the
  redelivered task (or sweep_outbound) sends it; killed after, when the provider may have
  it, it is never sent again and the sweep marks it "unknown" for an agent. Between the
  claim and the provider call there are only the channel's checks and composing (plus, for
  email, counting it against the caps): a kill in those milliseconds also ends "unknown".
  A missing acknowledgement is the lesser harm than a second one.
"""

from __future__ import annotations

import logging
import math
import statistics
import string
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext, npgettext, pgettext

from .automatic import record_automatic_reply
from .hours import ALWAYS_OPEN, BusinessHours, CalendarError, parse_calendar
from .models import (
    LISTED_OPEN,
    Customer,
    Direction,
    EventKind,
    Inbox,
    Language,
    Message,
    Ticket,
    TimelineEvent,
)
from .replies import ReplyError

log = logging.getLogger(__name__)

VARIABLES = ("first_name", "ticket", "expected_reply", "inbox")
LANGUAGES = tuple(Language.values)
MAX_TEMPLATE_CHARS = 2000
# What the inbox promises while the team is at work, with no history to go by; the
# chat widget's away notice (channels_in/self_service.py) uses the same default.
DEFAULT_REPLY_WITHIN_HOURS = 4

# Customer-facing text the manager edits per inbox; these are the starting point.
DEFAULT_TEMPLATES = {
    "en": (
        "Hello {first_name},\n\n"
        "thank you for your message. We have received it as request {ticket}.\n"
        "{expected_reply}\n\n"
        "{inbox}"
    ),
    "pl": (
        "Dzień dobry {first_name},\n\n"
        "dziękujemy za wiadomość. Otrzymaliśmy ją jako zgłoszenie {ticket}.\n"
        "{expected_reply}\n\n"
        "{inbox}"
    ),
    "cs": (
        "Dobrý den {first_name},\n\n"
        "děkujeme za zprávu. Přijali jsme ji jako požadavek {ticket}.\n"
        "{expected_reply}\n\n"
        "{inbox}"
    ),
}


class TemplateError(ValueError):
    """A template or an acknowledgement setting that cannot be used; the message says why."""


# --- templates ------------------------------------------------------------------------


def validate_template(text: Any) -> str:
    """The template if it can be rendered, else TemplateError naming what is wrong
    (an unknown variable by name, a stray brace)."""
    if not isinstance(text, str) or not text.strip():
        raise TemplateError(_("The template is empty."))
    if len(text) > MAX_TEMPLATE_CHARS:
        raise TemplateError(
            _("The template is longer than %(max)s characters.") % {"max": MAX_TEMPLATE_CHARS}
        )
    try:
        fields = _fields(text)
    except ValueError:
        raise TemplateError(
            _("The template has a stray brace; write {{ or }} for a brace itself.")
        ) from None
    unknown: list[str] = []
    for field, spec, conversion in fields:
        if field not in VARIABLES or spec or conversion:
            written = (
                field + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "")
            )
            if "{" + written + "}" not in unknown:
                unknown.append("{" + written + "}")
    if unknown:
        raise TemplateError(
            ngettext(
                "Unknown variable %(names)s; the template may use %(known)s.",
                "Unknown variables %(names)s; the template may use %(known)s.",
                len(unknown),
            )
            % {"names": ", ".join(unknown), "known": ", ".join(f"{{{v}}}" for v in VARIABLES)}
        )
    return text


def _fields(text: str) -> list[tuple[str, str, str]]:
    return [
        (field, spec or "", conversion or "")
        for _literal, field, spec, conversion in string.Formatter().parse(text)
        if field is not None
    ]


def validate_config(value: Any) -> dict:
    """config["acknowledgement"] as saved: {"enabled": bool, "templates": {language: text}}.
    TemplateError names the language and the fault."""
    if not isinstance(value, dict):
        raise TemplateError(_("The acknowledgement settings must be an object."))
    unknown_keys = sorted(set(value) - {"enabled", "templates"})
    if unknown_keys:
        raise TemplateError(
            _("Unknown acknowledgement setting: %(names)s.") % {"names": ", ".join(unknown_keys)}
        )
    if not isinstance(value.get("enabled", False), bool):
        raise TemplateError(_("“enabled” must be true or false."))
    templates = value.get("templates") or {}
    if not isinstance(templates, dict):
        raise TemplateError(_("The templates must be an object with a text per language."))
    for language, text in templates.items():
        if language not in LANGUAGES:
            raise TemplateError(
                _("No template language %(language)s; use %(languages)s.")
                % {"language": language, "languages": ", ".join(LANGUAGES)}
            )
        try:
            validate_template(text)
        except TemplateError as exc:
            raise TemplateError(f"{language}: {exc}") from None
    return value


def settings_of(inbox: Inbox) -> dict:
    value = (inbox.config or {}).get("acknowledgement") if isinstance(inbox.config, dict) else None
    return value if isinstance(value, dict) else {}


def template_for(inbox: Inbox, language: str) -> str:
    """The inbox's template in the language, else the default one in that language."""
    text = (settings_of(inbox).get("templates") or {}).get(language)
    return text if isinstance(text, str) and text.strip() else DEFAULT_TEMPLATES[language]


def render(template: str, *, first_name: str, ticket: str, expected_reply: str, inbox: str) -> str:
    """The template with its variables filled in (validated first: a stored template
    edited outside the API may still be wrong)."""
    validate_template(template)
    values = {
        "first_name": first_name,
        "ticket": ticket,
        "expected_reply": expected_reply,
        "inbox": inbox,
    }
    return template.format_map(values).strip()


def first_name_of(customer: Customer) -> str:
    name = (customer.name or "").strip()
    # An address or a number for a name is not a first name.
    if not name or "@" in name or name.lstrip("+").replace(" ", "").isdigit():
        return ""
    return name.split()[0]


# --- the expected reply -----------------------------------------------------------------


@dataclass(frozen=True)
class Expectation:
    """When the customer can expect a reply, and why."""

    # The usual wait in business time, rounded up to what we say.
    within: timedelta
    # The moment that is, counted in open time from now; None if the calendar never opens.
    reply_by: datetime | None
    # "open", "after_hours" (closed now) or "closed_today" (a holiday or a day off).
    state: str
    # Where it came from, for the timeline line and the tests.
    typical: timedelta
    queue: int
    agents: int


def calendar_of(inbox: Inbox) -> BusinessHours:
    config = inbox.config if isinstance(inbox.config, dict) else {}
    if not config.get("business_hours"):
        return ALWAYS_OPEN
    try:
        return parse_calendar(config["business_hours"])
    except CalendarError:
        log.warning("inbox %s: business hours are not valid; treated as always open", inbox.pk)
        return ALWAYS_OPEN


def promised_hours(inbox: Inbox) -> int:
    config = inbox.config if isinstance(inbox.config, dict) else {}
    try:
        return max(1, int(config.get("reply_within_hours") or DEFAULT_REPLY_WITHIN_HOURS))
    except (TypeError, ValueError):
        return DEFAULT_REPLY_WITHIN_HOURS


def typical_first_response(inbox: Inbox, calendar: BusinessHours, now: datetime) -> timedelta:
    """The median first response of the inbox's recent tickets in business time, or the
    inbox's promise without enough history. Cached per inbox for ACK_STATS_CACHE_SECONDS."""
    key = f"ack:typical:{inbox.pk}"
    cached = cache.get(key)
    if cached is not None:
        return timedelta(seconds=cached)
    answered = (
        Ticket.objects.filter(
            inbox=inbox,
            first_response_at__isnull=False,
            created_at__gte=now - timedelta(days=settings.ACK_HISTORY_DAYS),
        )
        .order_by("-created_at")
        .values_list("created_at", "first_response_at")[: settings.ACK_HISTORY_TICKETS]
    )
    waits = [calendar.between(created, answered_at) for created, answered_at in answered]
    if len(waits) >= settings.ACK_MIN_HISTORY:
        typical = statistics.median(waits)
    else:
        typical = timedelta(hours=promised_hours(inbox))
    cache.set(key, typical.total_seconds(), settings.ACK_STATS_CACHE_SECONDS)
    return typical


def live_queue(inbox: Inbox, *, exclude: int | None = None) -> tuple[int, int]:
    """(tickets waiting for a first answer, agents to answer them) for the inbox's team,
    or the inbox alone when it has no team."""
    waiting = Ticket.objects.filter(LISTED_OPEN, first_response_at__isnull=True)
    if inbox.team_id:
        waiting = waiting.filter(team_id=inbox.team_id)
        agents = inbox.team.members.filter(is_active=True).count()  # type: ignore[union-attr]
    else:
        waiting = waiting.filter(inbox=inbox)
        agents = (
            get_user_model()
            .objects.filter(is_active=True, helpdesk_teams__isnull=False)
            .distinct()
            .count()
        )
    if exclude is not None:
        waiting = waiting.exclude(pk=exclude)
    return waiting.count(), max(1, agents)


def round_up(wait: timedelta) -> timedelta:
    """What we say: 15-minute steps under an hour, whole hours above."""
    minutes = max(1, math.ceil(wait.total_seconds() / 60))
    if minutes <= 60:
        return timedelta(minutes=15 * math.ceil(minutes / 15))
    return timedelta(hours=math.ceil(minutes / 60))


def expect_reply(
    inbox: Inbox,
    now: datetime | None = None,
    *,
    exclude_ticket: int | None = None,
    calendar: BusinessHours | None = None,
) -> Expectation:
    """When a customer writing to the inbox now can expect a reply."""
    now = now or timezone.now()
    calendar = calendar or calendar_of(inbox)
    typical = typical_first_response(inbox, calendar, now)
    queue, agents = live_queue(inbox, exclude=exclude_ticket)
    # The typical time reflects a usual queue; a longer one stretches it in proportion.
    load = (queue / agents) / max(1, settings.ACK_QUEUE_PER_AGENT)
    within = round_up(typical * max(1.0, load))
    local = now.astimezone(calendar.timezone)
    if calendar.is_open(now):
        state = "open"
    elif calendar.is_day_off(local.date()):
        state = "closed_today"
    else:
        state = "after_hours"
    return Expectation(
        within=within,
        reply_by=calendar.add(now, within),
        state=state,
        typical=typical,
        queue=queue,
        agents=agents,
    )


def duration_text(wait: timedelta) -> str:
    minutes = round(wait.total_seconds() / 60)
    # The context: the duration follows "within" (Polish and Czech take the genitive).
    if minutes < 60:
        return npgettext(
            "expected reply: within", "%(count)s minute", "%(count)s minutes", minutes
        ) % {"count": minutes}
    hours = math.ceil(minutes / 60)
    return npgettext("expected reply: within", "%(count)s hour", "%(count)s hours", hours) % {
        "count": hours
    }


def moment_text(moment: datetime, now: datetime, zone: ZoneInfo) -> str:
    """A moment as the customer reads it: "9:30 today", "9:30 tomorrow", "9:30 on Monday",
    "9:30 on 7 January 2027", in the active language."""
    local, today = moment.astimezone(zone), now.astimezone(zone).date()
    clock = formats.date_format(local, pgettext("expected reply: time of day", "G:i"))
    days = (local.date() - today).days
    if days <= 0:
        return pgettext("expected reply", "%(time)s today") % {"time": clock}
    if days == 1:
        return pgettext("expected reply", "%(time)s tomorrow") % {"time": clock}
    if days < 7:
        return pgettext("expected reply", "%(time)s on %(weekday)s") % {
            "time": clock,
            "weekday": formats.date_format(local, "l"),
        }
    return pgettext("expected reply", "%(time)s on %(date)s") % {
        "time": clock,
        "date": formats.date_format(local, "DATE_FORMAT"),
    }


def expected_reply_sentence(
    expectation: Expectation, now: datetime, zone: ZoneInfo, language: str
) -> str:
    """The sentence in the customer's language, e.g. "We usually reply within 2 hours;
    it is outside our working hours now, so you can expect an answer by 9:30 tomorrow."."""
    with translation.override(language):
        within = duration_text(expectation.within)
        if expectation.reply_by is None:
            return _("We usually reply within %(within)s.") % {"within": within}
        values = {"within": within, "when": moment_text(expectation.reply_by, now, zone)}
        if expectation.state == "closed_today":
            return (
                _(
                    "We usually reply within %(within)s; we are closed today, so you can "
                    "expect an answer by %(when)s."
                )
                % values
            )
        if expectation.state == "after_hours":
            return (
                _(
                    "We usually reply within %(within)s; it is outside our working hours now, "
                    "so you can expect an answer by %(when)s."
                )
                % values
            )
        return _("We usually reply within %(within)s, so you can expect an answer by %(when)s.") % (
            values
        )


def zone_for(customer: Customer, calendar: BusinessHours) -> ZoneInfo:
    """The customer's own time zone when we know it, else the team's: its calendar's,
    or the helpdesk's (TIME_ZONE) for an inbox without business hours."""
    if customer.timezone:
        try:
            return ZoneInfo(customer.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    if calendar is ALWAYS_OPEN:
        return ZoneInfo(settings.TIME_ZONE)
    return calendar.timezone


def language_for(customer: Customer, inbox: Inbox) -> str:
    for language in (customer.locale, inbox.language):
        if language in LANGUAGES:
            return language
    return "en"


# --- the workflow ---------------------------------------------------------------------------


def idempotency_key(ticket_id: int) -> str:
    return f"ack:{ticket_id}"


@dataclass(frozen=True)
class Outcome:
    """What acknowledge() did: "queued" (message is the acknowledgement, new or the one
    already recorded) or "skipped" with the reason."""

    state: str
    reason: str = ""
    message: Message | None = None


def enabled(inbox: Inbox) -> bool:
    return settings_of(inbox).get("enabled") is True


def acknowledge(*, ticket_id: int, message_id: int | None = None) -> Outcome:
    """Queue the acknowledgement of a new ticket on its channel, once.

    Safe to run again (a redelivered task, a sweep): the second run returns the
    acknowledgement already recorded. The customer's row is locked while deciding, so
    two new tickets of one customer at once yield one acknowledgement (the throttle).
    """
    key = idempotency_key(ticket_id)
    ticket = (
        Ticket.objects.select_related("inbox", "inbox__team", "customer")
        .filter(pk=ticket_id)
        .first()
    )
    if ticket is None:
        return Outcome("skipped", "no such ticket")
    inbox = ticket.inbox
    if not enabled(inbox):
        return Outcome("skipped", "acknowledgements are off for the inbox")
    existing = Message.objects.filter(idempotency_key=key).first()
    if existing is not None:
        return Outcome("queued", message=existing)
    if ticket.merged_into_id or not ticket.is_open or ticket.first_response_at:
        return Outcome("skipped", "the ticket is answered, closed or merged")
    first = (
        Message.objects.filter(ticket=ticket, direction=Direction.IN)
        .order_by("id")
        .values("id", "is_automated", "created_at")
        .first()
    )
    if first is None or (message_id is not None and first["id"] != message_id):
        return Outcome("skipped", "not the ticket's first message")
    if first["is_automated"]:
        # RFC 3834: never answer an auto-reply, a list post or a bounce automatically.
        return Outcome("skipped", "the first message is automatic")
    now = timezone.now()
    if now - first["created_at"] > timedelta(minutes=settings.ACK_LATE_AFTER_MINUTES):
        return Outcome("skipped", "too late to acknowledge")
    calendar = calendar_of(inbox)
    expectation = expect_reply(inbox, now, exclude_ticket=ticket.pk, calendar=calendar)
    customer = ticket.customer
    language = language_for(customer, inbox)
    sentence = expected_reply_sentence(expectation, now, zone_for(customer, calendar), language)
    try:
        text = render(
            template_for(inbox, language),
            first_name=first_name_of(customer),
            ticket=ticket.reference,
            expected_reply=sentence,
            inbox=(inbox.config or {}).get("from_name") or inbox.name,
        )
    except TemplateError as exc:
        log.warning("inbox %s: acknowledgement template not usable: %s", inbox.pk, exc)
        text = render(
            DEFAULT_TEMPLATES[language],
            first_name=first_name_of(customer),
            ticket=ticket.reference,
            expected_reply=sentence,
            inbox=inbox.name,
        )
    if not first_name_of(customer):
        # "Hello ," reads badly: drop the space left before the comma.
        text = text.replace(" ,", ",")
    try:
        with transaction.atomic():
            Customer.objects.select_for_update().filter(pk=customer.pk).first()
            existing = Message.objects.filter(idempotency_key=key).first()
            if existing is not None:
                return Outcome("queued", message=existing)
            throttle = now - timedelta(hours=settings.ACK_THROTTLE_HOURS)
            if TimelineEvent.objects.filter(
                customer_id=customer.pk, kind=EventKind.ACKNOWLEDGED, created_at__gte=throttle
            ).exists():
                return Outcome("skipped", "the customer was acknowledged recently")
            message = record_automatic_reply(ticket=ticket, text=text, idempotency_key=key)
            TimelineEvent.objects.create(
                customer_id=customer.pk,
                ticket=ticket,
                kind=EventKind.ACKNOWLEDGED,
                message=message,
                created_at=now,
                data={
                    "language": language,
                    "within_minutes": round(expectation.within.total_seconds() / 60),
                    "reply_by": expectation.reply_by.isoformat() if expectation.reply_by else None,
                    "state": expectation.state,
                    "typical_minutes": round(expectation.typical.total_seconds() / 60),
                    "queue": expectation.queue,
                    "agents": expectation.agents,
                },
            )
    except ReplyError as exc:
        # No inbox on the channel can reach the customer: nothing to send.
        return Outcome("skipped", str(exc))
    except IntegrityError:
        # Another run recorded it between our check and our insert.
        return Outcome("queued", message=Message.objects.get(idempotency_key=key))
    return Outcome("queued", message=message)


def set_acknowledgement(*, inbox_id: int, enabled: bool, templates: dict[str, str]) -> Inbox:
    """Save an inbox's acknowledgement settings, or raise TemplateError (naming the language
    and the variable) and change nothing. A template left empty or as the default is not
    stored, so the inbox follows later improvements of the default."""
    kept = {}
    for language, text in templates.items():
        text = (text or "").replace("\r\n", "\n").strip()
        if text and language in DEFAULT_TEMPLATES and text != DEFAULT_TEMPLATES[language].strip():
            kept[language] = text
    value = validate_config({"enabled": enabled, "templates": kept})
    with transaction.atomic():
        inbox = Inbox.objects.select_for_update().get(pk=inbox_id)
        config = inbox.config if isinstance(inbox.config, dict) else {}
        inbox.config = {**config, "acknowledgement": value}
        inbox.save(update_fields=["config"])
    return inbox
