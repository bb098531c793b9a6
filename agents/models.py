from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from tickets.models import Language


class Availability(models.TextChoices):
    ONLINE = "online", _("Online")
    AWAY = "away", _("Away")


class Profile(models.Model):
    """An agent's own settings: the UI speaks their language, in their time zone.

    Presence for chats: an agent takes chats when they chose to be online and a page of
    theirs keeps the agent socket open (agents/presence.py reads the two together).
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="agent_profile"
    )
    language = models.CharField(
        _("language"), max_length=8, choices=Language.choices, default=Language.EN
    )
    timezone = models.CharField(_("time zone"), max_length=64, default="Europe/Warsaw")
    availability = models.CharField(
        _("availability"), max_length=8, choices=Availability.choices, default=Availability.AWAY
    )
    max_chats = models.PositiveSmallIntegerField(
        _("concurrent chats"),
        default=3,
        help_text=_("At most this many open chats are assigned to the agent automatically."),
    )
    # Stamped by the agent socket (on connect and on every ping), cleared when it closes.
    last_seen_at = models.DateTimeField(null=True, blank=True, editable=False)
    # The latest ticket assigned to the agent (by anyone): who waited longest gets the next chat.
    last_assigned_at = models.DateTimeField(null=True, blank=True, editable=False)

    def __str__(self) -> str:
        return f"profile of {self.user}"
