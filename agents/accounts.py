"""Creating agents with a role, a team and an API token."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from rest_framework.authtoken.models import Token

from tickets.access import ROLE_ADMIN, ROLES
from tickets.models import Team

from .models import Profile


class AgentError(Exception):
    pass


def create_agent(
    *,
    email: str,
    password: str,
    role: str = "agent",
    team: str | None = None,
    name: str = "",
    language: str = "en",
    timezone: str = "Europe/Warsaw",
) -> tuple[object, Token]:
    """Create (or update) an agent. The same email again updates role, team and password."""
    email = email.strip().lower()
    try:
        validate_email(email)
    except ValidationError as exc:
        raise AgentError(f"{email!r} is not an email address.") from exc
    if role not in ROLES:
        raise AgentError(f"Unknown role {role!r}; choose one of {', '.join(ROLES)}.")
    if len(password) < 8:
        raise AgentError("The password needs at least 8 characters.")
    first, _, last = name.partition(" ")
    with transaction.atomic():
        user, _ = get_user_model().objects.get_or_create(username=email, defaults={"email": email})
        user.email = email
        if name:
            user.first_name, user.last_name = first, last
        user.is_staff = role == ROLE_ADMIN
        user.is_superuser = role == ROLE_ADMIN
        user.set_password(password)
        user.save()
        user.groups.set([Group.objects.get_or_create(name=role)[0]])
        Profile.objects.update_or_create(
            user=user, defaults={"language": language, "timezone": timezone}
        )
        if team:
            Team.objects.get_or_create(name=team)[0].members.add(user)
        token, _ = Token.objects.get_or_create(user=user)
    return user, token
