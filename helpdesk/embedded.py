"""The embedded task queue: a Celery worker and beat inside the server process.

Used when no REDIS_URL is set (`make run` on a fresh machine). The broker is
Celery's in-memory transport, so the worker must live in the process that
queues tasks; it runs the same tasks as production workers do. Tasks lost
with the process are re-derived from the database by the sweepers.
"""

from __future__ import annotations

import logging
import threading

from celery.beat import EmbeddedService
from celery.worker import WorkController

from .celery import app

log = logging.getLogger(__name__)

_started = False
_lock = threading.Lock()


def start_embedded_queue(*, concurrency: int = 4) -> None:
    """Start worker and beat threads once per process."""
    global _started
    with _lock:
        if _started:
            return
        _started = True
    worker = WorkController(
        app=app,
        pool="threads",
        concurrency=concurrency,
        hostname="embedded@localhost",
        without_heartbeat=True,
        without_mingle=True,
        without_gossip=True,
        loglevel="WARNING",
    )
    threading.Thread(target=worker.start, name="celery-worker", daemon=True).start()
    beat = EmbeddedService(app, thread=True, scheduler_cls="celery.beat.Scheduler")
    beat.start()
    log.info("embedded Celery worker (%d threads) and beat started", concurrency)
