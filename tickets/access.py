"""Who sees which tickets and customers.

Roles are Django groups: agents see the tickets of their teams and their own;
managers and admins see everything.
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Q, QuerySet

from .models import Customer, Ticket

ROLE_AGENT = "agent"
ROLE_MANAGER = "manager"
ROLE_ADMIN = "admin"
ROLES = (ROLE_AGENT, ROLE_MANAGER, ROLE_ADMIN)


def role_of(user: AbstractBaseUser | AnonymousUser) -> str | None:
    if not user.is_authenticated or not user.is_active:
        return None
    if user.is_superuser:
        return ROLE_ADMIN
    cached = getattr(user, "_helpdesk_role", None)
    if cached is None:
        names = set(user.groups.values_list("name", flat=True))
        cached = next((r for r in (ROLE_ADMIN, ROLE_MANAGER, ROLE_AGENT) if r in names), "")
        user._helpdesk_role = cached
    return cached or None


def sees_everything(user) -> bool:
    return role_of(user) in (ROLE_MANAGER, ROLE_ADMIN)


def team_ids(user) -> list[int]:
    cached = getattr(user, "_helpdesk_team_ids", None)
    if cached is None:
        cached = list(user.helpdesk_teams.values_list("id", flat=True))
        user._helpdesk_team_ids = cached
    return cached


def visible_tickets(user) -> QuerySet[Ticket]:
    """The tickets this user may open; anything else answers 404."""
    role = role_of(user)
    if role is None:
        return Ticket.objects.none()
    if sees_everything(user):
        return Ticket.objects.all()
    return Ticket.objects.filter(Q(team_id__in=team_ids(user)) | Q(assignee_id=user.pk))


def visible_customers(user) -> QuerySet[Customer]:
    """Customers with at least one ticket the user may see (all, for managers)."""
    role = role_of(user)
    if role is None:
        return Customer.objects.none()
    if sees_everything(user):
        return Customer.objects.all()
    return Customer.objects.filter(pk__in=visible_tickets(user).values("customer_id"))
