"""Push a message to a channel-layer group from any thread or event loop.

Under `make run` the channel layer lives in memory inside the server
process, and Celery's embedded worker runs in a thread of that process. The
in-memory layer's queues belong to the server's event loop, so a push from a
worker thread must be scheduled on that loop, not on a fresh one.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

log = logging.getLogger(__name__)

_server_loop: asyncio.AbstractEventLoop | None = None


def bind_server_loop(loop: asyncio.AbstractEventLoop) -> None:
    global _server_loop
    _server_loop = loop


def publish(group: str, message: dict[str, Any]) -> None:
    """Best effort: a live push is a convenience, the database holds the truth."""
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        running = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    try:
        if running is not None:
            running.create_task(layer.group_send(group, message))
        elif _server_loop is not None and _server_loop.is_running():
            future = asyncio.run_coroutine_threadsafe(
                layer.group_send(group, message), _server_loop
            )
            future.result(timeout=5)
        else:
            async_to_sync(layer.group_send)(group, message)
    except Exception:
        log.warning("live push to %s failed", group, exc_info=True)


class BindLoopMiddleware:
    """ASGI middleware that remembers the server's event loop on the first request."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if _server_loop is None:
            bind_server_loop(asyncio.get_running_loop())
        return await self.app(scope, receive, send)
