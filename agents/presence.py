"""Who is available for chats, and the agent socket's heartbeat.

An agent is online when they chose "Online" in the header AND a page of theirs holds
the agent socket open: the socket stamps last_seen_at when it connects and on
every ping (app.js pings at most 60 s apart), and clears it when it closes. A
browser that vanished without closing ages out after ONLINE_WINDOW.
"""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Q, QuerySet
from django.utils import timezone

from tickets.access import ROLES
from tickets.assignment import Candidate
from tickets.events import TicketChanged, subscribe
from tickets.models import Team

from .models import Availability, Profile

ONLINE_WINDOW = timedelta(seconds=90)


def _team_id(team: Team | int | None) -> int | None:
    return team.pk if isinstance(team, Team) else team


def online_profiles(team: Team | int | None = None) -> QuerySet[Profile]:
    """Profiles of active agents online now; with a team, only that team's members."""
    profiles = Profile.objects.filter(
        Q(user__groups__name__in=ROLES) | Q(user__is_superuser=True),
        availability=Availability.ONLINE,
        last_seen_at__gte=timezone.now() - ONLINE_WINDOW,
        user__is_active=True,
    )
    team_id = _team_id(team)
    if team_id is not None:
        profiles = profiles.filter(user__helpdesk_teams=team_id)
    return profiles.distinct()


def any_agent_online(team: Team | int | None = None) -> bool:
    return online_profiles(team).exists()


def chat_candidates(team: Team | int | None = None) -> list[Candidate]:
    """The online agents who may be given a new chat (tickets.assignment decides which)."""
    rows = online_profiles(team).values_list("user_id", "max_chats", "last_assigned_at")
    return [Candidate(user_id=u, max_chats=m, last_assigned_at=at) for u, m, at in rows]


def record_heartbeat(user_id: int) -> None:
    """The agent socket is open: stamp it (creating the profile of an agent who has none)."""
    now = timezone.now()
    if not Profile.objects.filter(user_id=user_id).update(last_seen_at=now):
        Profile.objects.get_or_create(user_id=user_id, defaults={"last_seen_at": now})


def clear_heartbeat(user_id: int) -> None:
    """A socket closed. The agent's other open pages stamp again at once (consumers.py)."""
    Profile.objects.filter(user_id=user_id).update(last_seen_at=None)


def set_availability(user_id: int, availability: str) -> Profile:
    profile, _ = Profile.objects.update_or_create(
        user_id=user_id, defaults={"availability": availability}
    )
    return profile


@subscribe(TicketChanged)
def note_assignment(event: TicketChanged) -> None:
    """Remember when an agent was last given a ticket, manually or automatically."""
    username = event.changes.get("assignee")
    if username:
        Profile.objects.filter(user__username=username).update(last_assigned_at=timezone.now())
