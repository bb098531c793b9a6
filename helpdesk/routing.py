"""Websocket routes, each behind its own checks.

The agent socket trusts the session cookie, so it takes only our own hosts'
origins (AllowedHostsOriginValidator). The chat widget runs on customers'
sites: its consumer checks the Origin against the inbox's allowed origins itself.
"""

from channels.auth import AuthMiddlewareStack
from channels.security.websocket import AllowedHostsOriginValidator
from django.urls import path

from agents.consumers import AgentConsumer
from channels_in.widget_consumer import WidgetConsumer

websocket_urlpatterns = [
    path(
        "ws/agent/",
        AllowedHostsOriginValidator(AuthMiddlewareStack(AgentConsumer.as_asgi())),
    ),
    path("ws/widget/<str:key>/", WidgetConsumer.as_asgi()),
]
