"""Push a message to a channel-layer group from any thread or event loop.

Under `make run` the channel layer lives in memory inside the server
process, and Celery's embedded worker runs in a thread of that process. The
in-memory layer's queues belong to the server's event loop, so a push from a
worker thread must be scheduled on that loop, not on a fresh one.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import InMemoryChannelLayer, get_channel_layer

log = logging.getLogger(__name__)

_server_loop: asyncio.AbstractEventLoop | None = None


def bind_server_loop(loop: asyncio.AbstractEventLoop) -> None:
    global _server_loop
    _server_loop = loop


def publish(group: str, message: dict[str, Any]) -> None:
    """Best effort and non-blocking: a live push is a convenience, the database holds the truth."""
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        running = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    if running is not None:
        running.create_task(_send(layer, group, message))
        return
    # From sync code (views, workers): hand the send to a long-lived loop. The
    # in-memory layer's queues belong to the server's loop; the Redis layer keeps
    # its connection pool per loop, so one lasting loop reuses its connections
    # (asgiref's async_to_sync would start a new loop, and connect anew, per call).
    if _server_loop is not None and _server_loop.is_running():
        loop = _server_loop
    elif isinstance(layer, InMemoryChannelLayer):
        # No server here (a test, a command): asgiref finds the loop that owns
        # the queues when called from a sync_to_async thread.
        async_to_sync(_send)(layer, group, message)
        return
    else:
        loop = _publisher_loop()
    asyncio.run_coroutine_threadsafe(_send(layer, group, message), loop)


async def _send(layer, group: str, message: dict[str, Any]) -> None:
    try:
        await layer.group_send(group, message)
    except Exception:
        log.warning("live push to %s failed", group, exc_info=True)


_own_loop: asyncio.AbstractEventLoop | None = None
_own_loop_lock = threading.Lock()


def _publisher_loop() -> asyncio.AbstractEventLoop:
    global _own_loop
    with _own_loop_lock:
        if _own_loop is None:
            _own_loop = asyncio.new_event_loop()
            threading.Thread(
                target=_own_loop.run_forever, name="live-publisher", daemon=True
            ).start()
        return _own_loop


class BindLoopMiddleware:
    """ASGI middleware that remembers the server's event loop on the first request."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if _server_loop is None:
            bind_server_loop(asyncio.get_running_loop())
        return await self.app(scope, receive, send)
