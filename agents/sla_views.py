"""Managers' pages for SLA policies: list, create, edit, delete, with a business-hours editor.

The form only translates input into tickets.sla.save_policy()'s arguments; an
invalid calendar (overlapping hours, an unknown time zone or country) comes back
from tickets/hours.py as a sentence naming the fault, shown on the form.
"""

from __future__ import annotations

from functools import wraps
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from tickets.access import ROLE_ADMIN, ROLE_MANAGER, role_of
from tickets.hours import DAYS, CalendarError
from tickets.models import Channel, Inbox, Priority, SlaPolicy, Team
from tickets.sla import PolicyError, save_policy
from tickets.tasks import sla_recompute_open, sla_retire_policy

from .views import agent_required

DAY_LABELS = {
    "mon": gettext_lazy("Monday"),
    "tue": gettext_lazy("Tuesday"),
    "wed": gettext_lazy("Wednesday"),
    "thu": gettext_lazy("Thursday"),
    "fri": gettext_lazy("Friday"),
    "sat": gettext_lazy("Saturday"),
    "sun": gettext_lazy("Sunday"),
}
HOLIDAY_COUNTRIES = [
    ("", gettext_lazy("None")),
    ("PL", gettext_lazy("Poland")),
    ("CZ", gettext_lazy("Czechia")),
]


def _minutes(label) -> forms.IntegerField:
    return forms.IntegerField(label=label, required=False, min_value=1, max_value=525_600)


class SlaPolicyForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=100)
    position = forms.IntegerField(
        label=gettext_lazy("Order"),
        min_value=0,
        max_value=32767,
        initial=0,
        help_text=gettext_lazy(
            "Policies are tried from the lowest number; the first match applies."
        ),
    )
    is_active = forms.BooleanField(label=gettext_lazy("Active"), required=False, initial=True)
    inboxes = forms.TypedMultipleChoiceField(
        label=gettext_lazy("Inboxes"),
        required=False,
        coerce=int,
        choices=[],
        widget=forms.CheckboxSelectMultiple,
    )
    channels = forms.MultipleChoiceField(
        label=gettext_lazy("Channels"),
        required=False,
        choices=Channel.choices,
        widget=forms.CheckboxSelectMultiple,
    )
    priorities = forms.TypedMultipleChoiceField(
        label=gettext_lazy("Priorities"),
        required=False,
        coerce=int,
        choices=Priority.choices,
        widget=forms.CheckboxSelectMultiple,
    )
    customer_tags = forms.CharField(
        label=gettext_lazy("Customer tags"),
        required=False,
        max_length=500,
        help_text=gettext_lazy("Separate tags with commas; a customer with any of them matches."),
    )
    first_response_minutes = _minutes(gettext_lazy("First response (minutes)"))
    next_response_minutes = _minutes(gettext_lazy("Next response (minutes)"))
    resolution_minutes = _minutes(gettext_lazy("Resolution (minutes)"))
    warn_percent = forms.IntegerField(
        label=gettext_lazy("Warn at (percentage of the target)"),
        min_value=1,
        max_value=100,
        initial=80,
    )
    timezone = forms.CharField(
        label=gettext_lazy("Time zone"), max_length=64, required=False, initial="Europe/Warsaw"
    )
    holidays = forms.ChoiceField(
        label=gettext_lazy("Public holidays"), required=False, choices=HOLIDAY_COUNTRIES
    )
    closed = forms.CharField(
        label=gettext_lazy("Other days off"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy("One date a line, like 2026-12-24."),
    )
    escalate_priority = forms.TypedChoiceField(
        label=gettext_lazy("On breach, raise priority to"),
        required=False,
        coerce=int,
        empty_value=None,
        choices=[("", gettext_lazy("Leave as it is")), *Priority.choices],
    )
    escalate_team = forms.ModelChoiceField(
        label=gettext_lazy("On breach, reassign to team"),
        queryset=Team.objects.all(),
        required=False,
        empty_label=gettext_lazy("Leave as it is"),
    )
    notify_by_email = forms.BooleanField(
        label=gettext_lazy("Also email the assignee and the team lead"), required=False
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["inboxes"].choices = [(i.pk, i.name) for i in Inbox.objects.order_by("name")]
        for day in DAYS:
            self.fields[f"hours_{day}"] = forms.CharField(
                label=DAY_LABELS[day],
                required=False,
                max_length=200,
                widget=forms.TextInput(attrs={"placeholder": "08:00-16:00"}),
            )

    @property
    def day_fields(self) -> list:
        return [self[f"hours_{day}"] for day in DAYS]

    def calendar(self) -> dict:
        """The stored calendar form (tickets/hours.py); {} means round the clock."""
        data = self.cleaned_data
        week = {}
        for day in DAYS:
            text = (data.get(f"hours_{day}") or "").strip()
            if text:
                week[day] = [
                    [start.strip(), end.strip()]
                    for start, _dash, end in (
                        span.replace("–", "-").partition("-")
                        for span in text.split(",")
                        if span.strip()
                    )
                ]
        closed = [line.strip() for line in (data.get("closed") or "").splitlines() if line.strip()]
        if not week:
            if data.get("holidays") or closed:
                raise CalendarError(
                    _("Give the opening hours of at least one day, or leave the days off empty.")
                )
            return {}
        calendar: dict[str, Any] = {"timezone": data.get("timezone") or "UTC", "week": week}
        if data.get("holidays"):
            calendar["holidays"] = data["holidays"]
        if closed:
            calendar["closed"] = closed
        return calendar

    def arguments(self) -> dict:
        data = self.cleaned_data
        return {
            "name": data["name"],
            "position": data["position"],
            "is_active": data["is_active"],
            "inbox_ids": data["inboxes"],
            "channels": data["channels"],
            "priorities": data["priorities"],
            "customer_tags": [
                "-".join(t.strip().lower().split())
                for t in (data["customer_tags"] or "").split(",")
                if t.strip()
            ],
            "first_response_minutes": data["first_response_minutes"],
            "next_response_minutes": data["next_response_minutes"],
            "resolution_minutes": data["resolution_minutes"],
            "warn_percent": data["warn_percent"],
            "calendar": self.calendar(),
            "escalate_priority": data["escalate_priority"],
            "escalate_team": data["escalate_team"],
            "notify_by_email": data["notify_by_email"],
        }


def initial_for(policy: SlaPolicy) -> dict:
    calendar = policy.calendar or {}
    week = calendar.get("week") or {}
    initial = {
        "name": policy.name,
        "position": policy.position,
        "is_active": policy.is_active,
        "inboxes": policy.inbox_ids,
        "channels": policy.channels,
        "priorities": policy.priorities,
        "customer_tags": ", ".join(policy.customer_tags),
        "first_response_minutes": policy.first_response_minutes,
        "next_response_minutes": policy.next_response_minutes,
        "resolution_minutes": policy.resolution_minutes,
        "warn_percent": policy.warn_percent,
        "timezone": calendar.get("timezone", "Europe/Warsaw"),
        "holidays": calendar.get("holidays", ""),
        "closed": "\n".join(str(d) for d in calendar.get("closed") or []),
        "escalate_priority": policy.escalate_priority,
        "escalate_team": policy.escalate_team_id,
        "notify_by_email": policy.notify_by_email,
    }
    for day in DAYS:
        initial[f"hours_{day}"] = ", ".join(f"{a}-{b}" for a, b in week.get(day) or [])
    return initial


def manager_required(view):
    """Managers and admins only: SLA policies apply to every team."""

    @agent_required
    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs):
        if role_of(request.user) not in (ROLE_MANAGER, ROLE_ADMIN):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapped


@manager_required
@require_http_methods(["GET"])
def sla_policies(request: HttpRequest) -> HttpResponse:
    policies = list(SlaPolicy.objects.select_related("escalate_team"))
    inbox_names = dict(Inbox.objects.values_list("id", "name"))
    for policy in policies:
        policy.inbox_names = [inbox_names.get(i, f"#{i}") for i in policy.inbox_ids]
    return render(request, "agents/sla_policies.html", {"policies": policies})


@manager_required
@require_http_methods(["GET", "POST"])
def sla_policy_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    policy = get_object_or_404(SlaPolicy, pk=pk) if pk is not None else None
    if request.method == "POST":
        form = SlaPolicyForm(request.POST)
        if form.is_valid():
            try:
                with transaction.atomic():
                    saved = save_policy(policy=policy, **form.arguments())
                    transaction.on_commit(sla_recompute_open.delay)
            except (CalendarError, PolicyError) as error:
                form.add_error(None, str(error))
            else:
                messages.success(request, _("Policy “%(name)s” saved.") % {"name": saved.name})
                return redirect("agents:sla_policies")
        status = 422
    else:
        form = SlaPolicyForm(initial=initial_for(policy) if policy else None)
        status = 200
    return render(
        request, "agents/sla_policy_form.html", {"form": form, "policy": policy}, status=status
    )


@manager_required
@require_POST
def sla_policy_delete(request: HttpRequest, pk: int) -> HttpResponse:
    policy = get_object_or_404(SlaPolicy, pk=pk)
    with transaction.atomic():
        # Stopped at once; its tickets move to the matching policies in the background.
        SlaPolicy.objects.filter(pk=policy.pk).update(is_active=False)
        transaction.on_commit(lambda: sla_retire_policy.delay(policy.pk))
    messages.success(request, _("Policy “%(name)s” deleted.") % {"name": policy.name})
    return redirect("agents:sla_policies")
