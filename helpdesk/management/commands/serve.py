"""Serve the whole product from one process: ASGI server, plus the embedded
Celery worker and beat when no REDIS_URL is set."""

import os

import uvicorn
from django.conf import settings
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Serve the helpdesk (uvicorn); in embedded mode also the Celery worker and beat."

    def add_arguments(self, parser):
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument(
            "--no-queue", action="store_true", help="do not start the embedded queue"
        )

    def handle(self, *args, host, port, no_queue, **options):
        if settings.EMBEDDED and not no_queue:
            from helpdesk.embedded import start_embedded_queue

            start_embedded_queue()
        self.stdout.write(f"Helpdesk on http://{host}:{port}/ (embedded={settings.EMBEDDED})")
        uvicorn.run(
            "helpdesk.asgi:application",
            host=host,
            port=port,
            lifespan="off",
            log_level="warning",
            access_log=False,
        )
