"""Creating inboxes: each channel gets the secrets its provider side needs."""

from __future__ import annotations

import secrets as secrets_lib

from django.conf import settings

from tickets.models import Channel, Inbox, Team

from .email.loops import forget_own_addresses

SECRET_NAMES: dict[str, tuple[str, ...]] = {
    Channel.EMAIL: ("token",),
    Channel.SMS: ("auth_token",),
    Channel.MESSENGER: ("app_secret", "verify_token"),
    Channel.WIDGET: ("identity_secret",),
    Channel.TEST: ("token",),
}
# Secrets only the user can give (never generated): an email inbox's IMAP password,
# a Facebook page's access token (Meta issues it for the page).
GIVEN_SECRET_NAMES: dict[str, tuple[str, ...]] = {
    Channel.EMAIL: ("imap_password",),
    Channel.MESSENGER: ("page_access_token",),
}


class InboxError(Exception):
    pass


def create_inbox(
    *,
    channel: str,
    name: str,
    language: str = "en",
    team: Team | None = None,
    config: dict | None = None,
    secrets: dict | None = None,
) -> Inbox:
    """Create an inbox with fresh random secrets (or the provider's own, when given)."""
    if channel not in SECRET_NAMES:
        raise InboxError(f"Unknown channel {channel!r}; choose one of {', '.join(SECRET_NAMES)}.")
    name = name.strip()
    if not name:
        raise InboxError("An inbox needs a name.")
    values = {key: secrets_lib.token_urlsafe(24) for key in SECRET_NAMES[channel]}
    allowed = SECRET_NAMES[channel] + GIVEN_SECRET_NAMES.get(channel, ())
    values.update({k: v for k, v in (secrets or {}).items() if k in allowed and v})
    inbox = Inbox.objects.create(
        channel=channel,
        name=name[:100],
        language=language,
        team=team,
        secrets=values,
        config=config or {},
    )
    # Its address is one of ours from now on (loop guard), in this process at once.
    forget_own_addresses()
    return inbox


def webhook_path(inbox: Inbox) -> str:
    if inbox.channel == Channel.WIDGET:
        return f"/widget/{inbox.key}.js"
    return f"/inbound/{inbox.channel}/{inbox.key}/"


def webhook_url(inbox: Inbox) -> str:
    return settings.PUBLIC_BASE_URL + webhook_path(inbox)
