"""Who may use the API at all. Which rows they see is tickets.access's business."""

from __future__ import annotations

from rest_framework.permissions import BasePermission

from tickets.access import ROLE_ADMIN, role_of


class IsAgent(BasePermission):
    """Agents, managers and admins. A signed-in user without a helpdesk role gets 403."""

    message = "This account has no helpdesk role (agent, manager or admin)."

    def has_permission(self, request, view) -> bool:
        return role_of(request.user) is not None


def is_admin(user) -> bool:
    return role_of(user) == ROLE_ADMIN
