"""SLA warnings and breaches told to people: live in the agent UI, by email if the policy says so.

tickets/sla.py decides what happened (once per clock and cycle) and emits
SlaWarned / SlaBreached after commit; here they reach the ticket's assignee and
its team's lead. Pushes carry ids only, like every agent notice (agents/live.py).
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.urls import reverse
from django.utils import translation
from django.utils.formats import date_format
from django.utils.timezone import localtime
from django.utils.translation import gettext as _

from helpdesk.live import publish
from tickets.events import SlaBreached, SlaWarned, subscribe
from tickets.models import Language, Ticket

from .live import ticket_group, user_group

log = logging.getLogger(__name__)


def clock_label(clock: str) -> str:
    return {
        "first_response": _("First response"),
        "next_response": _("Next response"),
        "resolution": _("Resolution"),
    }.get(clock, clock)


def _recipients(event: SlaWarned | SlaBreached) -> list[int]:
    return list(dict.fromkeys(i for i in (event.assignee_id, event.team_lead_id) if i))


def push_alert(event: SlaWarned | SlaBreached, state: str) -> None:
    notice = {
        "type": "ticket.notice",
        "ticket": event.ticket_id,
        "customer": event.customer_id,
        "kind": "sla",
        "state": state,
        "clock": event.clock,
    }
    # Pages showing the ticket refresh its clocks; the people answerable for it
    # hear it on every page of theirs (user group), marked as an alert for them.
    # Not the whole inbox group: a sweep may breach a thousand tickets at once, and
    # every agent's list would fetch a thousand rows; the clocks there show due times.
    publish(ticket_group(event.ticket_id), notice)
    for user_id in _recipients(event):
        publish(user_group(user_id), {**notice, "scope": "inbox", "alert": True})


def mail_alert(event: SlaWarned | SlaBreached, state: str) -> None:
    """One short mail to each recipient, in their own language and time zone."""
    people = (
        get_user_model()
        .objects.filter(pk__in=_recipients(event), is_active=True)
        .exclude(email="")
        .select_related("agent_profile")
    )
    ticket = Ticket.objects.filter(pk=event.ticket_id).only("id", "subject").first()
    if ticket is None:
        return
    url = settings.PUBLIC_BASE_URL + reverse("agents:ticket", args=[ticket.pk])
    for person in people:
        profile = getattr(person, "agent_profile", None)
        language = profile.language if profile else Language.EN
        with translation.override(language):
            values = {
                "ref": ticket.reference,
                "subject": ticket.subject or _("(no subject)"),
                "clock": clock_label(event.clock),
            }
            if state == "breached":
                subject = _("[%(ref)s] SLA missed: %(clock)s") % values
                first = _("The %(clock)s target of ticket %(ref)s “%(subject)s” was missed.")
            else:
                subject = _("[%(ref)s] SLA nearing: %(clock)s") % values
                first = _("The %(clock)s target of ticket %(ref)s “%(subject)s” is near.")
            lines = [first % values]
            if event.due_at:
                due = date_format(localtime(event.due_at), "DATETIME_FORMAT")
                lines.append(_("Due: %(due)s") % {"due": due})
            lines.append(url)
        try:
            send_mail(subject, "\n\n".join(lines), None, [person.email])
        except Exception:
            # A mail server down must not hide the live notice; the timeline keeps the breach.
            log.exception("SLA mail to user %s about ticket %s failed", person.pk, ticket.pk)


@subscribe(SlaWarned)
def tell_warning(event: SlaWarned) -> None:
    push_alert(event, "warning")
    if event.notify_by_email:
        mail_alert(event, "warning")


@subscribe(SlaBreached)
def tell_breach(event: SlaBreached) -> None:
    push_alert(event, "breached")
    if event.notify_by_email:
        mail_alert(event, "breached")
