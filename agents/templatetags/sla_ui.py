"""The SLA clocks of a ticket as the inbox row and the ticket header show them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django import template
from django.utils import timezone
from django.utils.translation import gettext as _

from tickets.models import Ticket
from tickets.sla import CLOCKS, DUE_FIELDS, PAUSING, Clock

register = template.Library()


@dataclass(frozen=True)
class ClockView:
    label: str
    due: datetime
    # "ok", "soon" (warned) or "overdue"
    state: str
    text: str


def _span(seconds: float, *, coarse: bool = False) -> str:
    """A duration, abbreviated; coarse keeps only hours from an hour up (an inbox row)."""
    minutes = max(1, int(seconds // 60))
    if minutes >= 48 * 60:
        # Translators: a duration, abbreviated ("3 d").
        return _("%(count)s d") % {"count": minutes // (24 * 60)}
    if minutes >= 60 and coarse:
        # Translators: a duration in whole hours, abbreviated ("5 h").
        return _("%(count)s h") % {"count": minutes // 60}
    if minutes >= 60:
        # Translators: a duration in hours and minutes, abbreviated ("2 h 5 min").
        return _("%(hours)s h %(minutes)s min") % {"hours": minutes // 60, "minutes": minutes % 60}
    return _("%(count)s min") % {"count": minutes}


def clock_views(ticket: Ticket, now: datetime | None = None) -> list[ClockView]:
    now = now or timezone.now()
    labels = {
        Clock.FIRST_RESPONSE: _("First response"),
        Clock.NEXT_RESPONSE: _("Next response"),
        Clock.RESOLUTION: _("Resolution"),
    }
    views = []
    for clock in CLOCKS:
        due = getattr(ticket, DUE_FIELDS[clock])
        if due is None:
            continue
        left = (due - now).total_seconds()
        if left <= 0 or ticket.sla_breached & clock:
            state, text = "overdue", _("%(clock)s overdue by %(time)s")
        else:
            state = "soon" if ticket.sla_warned & clock else "ok"
            text = _("%(clock)s due in %(time)s")
        views.append(
            ClockView(
                label=labels[clock],
                due=due,
                state=state,
                text=text % {"clock": labels[clock], "time": _span(abs(left))},
            )
        )
    return views


@register.inclusion_tag("agents/_sla_clocks.html")
def sla_clocks(ticket: Ticket, compact: bool = False) -> dict:
    """Every running clock with the time left or overdue; "SLA paused" while pending or on hold.

    compact (the inbox row): only the clock due first, as "2 h 5 min left", its name
    in the tooltip, so the row's narrow column holds it.
    """
    clocks = clock_views(ticket) if ticket.sla_policy_id else []
    if compact and clocks:
        first = min(clocks, key=lambda clock: clock.due)
        left = (first.due - timezone.now()).total_seconds()
        short = (_("%(time)s overdue") if first.state == "overdue" else _("%(time)s left")) % {
            "time": _span(abs(left), coarse=True)
        }
        clocks = [ClockView(label=first.text, due=first.due, state=first.state, text=short)]
    paused = bool(ticket.sla_policy_id) and ticket.status in PAUSING
    return {"clocks": clocks, "paused": paused, "compact": compact}
