"""helpdesk.asgi:application with timers around a webhook's steps (a diagnosis, not the product).

    PYTHONPATH=.:bench/webhooks WEBHOOK_TIMING_DIR=var/bench-webhooks/timing \
        uvicorn timed_asgi:application --workers N

Nothing is edited: at import, in each worker process, this wraps (at run time) the view and
the functions it calls, and writes one JSON line per request to
$WEBHOOK_TIMING_DIR/timing-<pid>.jsonl (written as each request ends):

- `queued_ms`: from the ASGI call (the request's headers are in) to the view starting in its
  sync thread — reading the body, Django's handler and middleware, and waiting for the thread;
- `view_ms` / `view_cpu_ms`: the view (channels_in.views.inbound_webhook), wall and this
  thread's CPU;
- inside it: `accept_ms` (the adapter's accept(): signature check and reading the payload),
  `store_raw_ms`, `process_raw_ms`, of which `parse_ms` (adapter.parse) and `ingest_ms`
  (tickets.ingest.ingest); `connect_ms` (opening the database connection), `commit_ms`,
  `sql_ms` and `statements` (every statement through Django's cursor, BEGIN/COMMIT not
  included: Django issues those through the driver), `inbox_lookup_ms` (the view's first
  query, the inbox row, connect included);
- `after_view_ms`: from the view's return to the response's last byte handed to the server
  (request_finished: closing the connection, `close_ms`, and the hop back to the event loop);
- `total_ms`: the ASGI call to the response's end; `thread`: the sync thread's name.
"""

from __future__ import annotations

import contextvars
import functools
import json
import os
import threading
import time
from pathlib import Path

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk.settings")

import django  # noqa: E402

django.setup()

from django.db.backends.base import base as db_base  # noqa: E402
from django.db.backends.signals import connection_created  # noqa: E402

from channels_in import pipeline, registry, views  # noqa: E402
from helpdesk.asgi import application as _inner  # noqa: E402

_dir = Path(os.environ.get("WEBHOOK_TIMING_DIR", "var/bench-webhooks/timing"))
_dir.mkdir(parents=True, exist_ok=True)
_file = (_dir / f"timing-{os.getpid()}.jsonl").open("a")
_lock = threading.Lock()
# One dict per request, set by the ASGI wrapper below. Django runs the request's sync code
# in a copy of this context, so the sync thread adds to the same dict.
_record: contextvars.ContextVar[dict | None] = contextvars.ContextVar("record", default=None)


def _emit(record: dict) -> None:
    # Written and flushed at once: uvicorn's worker processes (--workers N) end without
    # running atexit handlers.
    line = json.dumps(record) + "\n"
    with _lock:
        _file.write(line)
        _file.flush()


def _add(key: str, value: float) -> None:
    record = _record.get()
    if record is not None:
        record[key] = record.get(key, 0.0) + value


def timed(owner, attr: str, key: str, *, cpu: bool = False) -> None:
    original = getattr(owner, attr)

    def wrapper(*args, **kwargs):
        started = time.perf_counter()
        cpu_started = time.thread_time() if cpu else 0.0
        try:
            return original(*args, **kwargs)
        finally:
            _add(key + "_ms", (time.perf_counter() - started) * 1000)
            if cpu:
                _add(key + "_cpu_ms", (time.thread_time() - cpu_started) * 1000)

    wrapper.__wrapped__ = original
    setattr(owner, attr, wrapper)


# The view: the URLconf takes views.inbound_webhook when it is first imported (the first
# request), after this module has replaced it.
_view = views.inbound_webhook


@functools.wraps(_view)  # keeps csrf_exempt
def inbound_webhook(request, channel, key):
    record = _record.get()
    if record is None:
        return _view(request, channel, key)
    started, cpu = time.perf_counter(), time.thread_time()
    record.update(
        channel=channel,
        thread=f"{os.getpid()}:{threading.current_thread().name}",
        view_start=started,
    )
    try:
        response = _view(request, channel, key)
        record["status"] = response.status_code
        return response
    finally:
        record["view_end"] = time.perf_counter()
        record["view_ms"] = (record["view_end"] - started) * 1000
        record["view_cpu_ms"] = (time.thread_time() - cpu) * 1000


views.inbound_webhook = inbound_webhook
timed(views, "store_raw", "store_raw", cpu=True)
timed(views, "process_raw", "process_raw", cpu=True)
timed(pipeline, "ingest", "ingest", cpu=True)
for adapter in registry._ADAPTERS.values():
    # An instance attribute shadows the class's method for this adapter only.
    for method in ("accept", "parse"):
        setattr(adapter, method, getattr(adapter, method))
        timed(adapter, method, method, cpu=True)


def _method_timer(original, key: str, count: str | None = None):
    def wrapper(self, *args, **kwargs):
        started = time.perf_counter()
        try:
            return original(self, *args, **kwargs)
        finally:
            _add(key, (time.perf_counter() - started) * 1000)
            if count:
                _add(count, 1)

    return wrapper


db_base.BaseDatabaseWrapper.connect = _method_timer(
    db_base.BaseDatabaseWrapper.connect, "connect_ms", "connects"
)
db_base.BaseDatabaseWrapper.commit = _method_timer(
    db_base.BaseDatabaseWrapper.commit, "commit_ms", "commits"
)
db_base.BaseDatabaseWrapper.close = _method_timer(db_base.BaseDatabaseWrapper.close, "close_ms")


def _count_statements(execute, sql, params, many, context):
    started = time.perf_counter()
    try:
        return execute(sql, params, many, context)
    finally:
        record = _record.get()
        if record is not None:
            now = time.perf_counter()
            record["sql_ms"] = record.get("sql_ms", 0.0) + (now - started) * 1000
            record["statements"] = record.get("statements", 0) + 1
            if "inbox_lookup_ms" not in record and "view_start" in record:
                # The view's first query: the inbox row (and opening the connection).
                record["inbox_lookup_ms"] = (now - record["view_start"]) * 1000


def _on_connection(sender, connection, **kwargs):
    if _count_statements not in connection.execute_wrappers:
        connection.execute_wrappers.append(_count_statements)


connection_created.connect(_on_connection, weak=False)


async def application(scope, receive, send):
    if scope["type"] != "http" or not scope.get("path", "").startswith("/inbound/"):
        return await _inner(scope, receive, send)
    started = time.perf_counter()
    record: dict = {}
    token = _record.set(record)
    response_end = [0.0]

    async def timed_send(message):
        await send(message)
        if message["type"] == "http.response.body" and not message.get("more_body"):
            response_end[0] = time.perf_counter()

    try:
        return await _inner(scope, receive, timed_send)
    finally:
        _record.reset(token)
        ended = response_end[0] or time.perf_counter()
        record["total_ms"] = (ended - started) * 1000
        if "view_start" in record:
            record["queued_ms"] = (record.pop("view_start") - started) * 1000
        if "view_end" in record:
            record["after_view_ms"] = (ended - record.pop("view_end")) * 1000
        record["t"] = started
        _emit(record)
