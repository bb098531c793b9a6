"""Each agent sees the UI in their own language and time zone."""

import zoneinfo

from django.utils import timezone, translation


class AgentPreferencesMiddleware:
    """After authentication: the agent's profile overrides the browser's language."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            profile = getattr(user, "agent_profile", None)
            if profile is not None:
                translation.activate(profile.language)
                request.LANGUAGE_CODE = profile.language
                try:
                    timezone.activate(zoneinfo.ZoneInfo(profile.timezone))
                except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                    timezone.deactivate()
        response = self.get_response(request)
        response.headers.setdefault("Content-Language", translation.get_language())
        return response
