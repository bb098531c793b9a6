from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from tickets.models import Language


class Profile(models.Model):
    """An agent's own settings: the UI speaks their language, in their time zone."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="agent_profile"
    )
    language = models.CharField(
        _("language"), max_length=8, choices=Language.choices, default=Language.EN
    )
    timezone = models.CharField(_("time zone"), max_length=64, default="Europe/Warsaw")

    def __str__(self) -> str:
        return f"profile of {self.user}"
