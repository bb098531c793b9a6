import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk.settings")
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from helpdesk.live import BindLoopMiddleware  # noqa: E402
from helpdesk.routing import websocket_urlpatterns  # noqa: E402

application = BindLoopMiddleware(
    ProtocolTypeRouter(
        {
            "http": django_asgi_app,
            # Each route brings its own origin check (helpdesk/routing.py): the
            # agent socket only our hosts', the widget each inbox's allowed sites.
            "websocket": URLRouter(websocket_urlpatterns),
        }
    )
)
