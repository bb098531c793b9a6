"""`manage.py serve` for the widget bench's latency runs, with two optional changes.

    .venv/bin/python bench/widget/server.py --port 8391 [--lift-rate-limits] [--timing FILE]

It runs the project's own `serve` command (uvicorn, one process, `helpdesk.asgi:application`,
lifespan off, no access log) in this process, after:

- `--lift-rate-limits`: raising channels_in.widgets' per-visitor (20 a minute) and per-address
  (60 a minute) message limits. The latency scenario sends one message a second in each of 200
  conversations, all from 127.0.0.1: 3x a visitor's limit and 200x an address's. The limiter
  itself still runs (its two cache increments in Redis per message); only its verdict changes.
- `--no-dispatch-hop` (a diagnosis variant, not the product): the widget and agent consumers
  dispatch events without channels' `aclose_old_connections()` first. Channels runs that
  before every handler (every frame, every channel-layer event) as a thread-sensitive
  sync_to_async call, i.e. in the one thread all websocket consumers' database work shares.
  Every database call of these consumers already goes through database_sync_to_async, which
  closes old connections itself, so the hop only queues event delivery behind database work.
- `--db-threads` (a diagnosis variant, not the product): the widget consumer's
  database_sync_to_async calls with thread_sensitive=False (the event loop's default thread
  pool, min(32, cores + 4) threads) instead of the one shared thread-sensitive thread.
- `--timing FILE`: a diagnosis run. Wraps (at run time, nothing is edited) the steps a visitor's
  message takes in the server and writes one JSON line per message to FILE at shutdown, keyed
  by client_id, all times time.monotonic():
  `arrival` (the consumer got the frame), `thread_start`/`thread_end` (receive_visitor_message
  ran in the database thread), `connect_ms` (opening database connections in it), `store_raw_ms`,
  `process_raw_ms` (parse + ingest + its commit + the after-commit subscribers), `commit_ms`,
  `groups_ms` (visitor_groups), `publish` (agents.live's publish of the ticket notice was called),
  `loop_start`/`loop_end` (that notice's group_send started/finished on the server's loop).
"""

from __future__ import annotations

import argparse
import contextvars
import json
import os
import signal
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.chdir(ROOT)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk.settings")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402

_records: dict[str, dict] = {}
_current = threading.local()
_arrival: contextvars.ContextVar[float] = contextvars.ContextVar("arrival", default=0.0)
_by_message: dict[int, dict] = {}


def lift_rate_limits() -> None:
    import channels_in.widgets as widgets

    widgets.VISITOR_MESSAGES_PER_MINUTE = 10**9
    widgets.IP_MESSAGES_PER_MINUTE = 10**9


def skip_dispatch_hop() -> None:
    from channels.consumer import get_handler_name

    from agents.consumers import AgentConsumer
    from channels_in.widget_consumer import WidgetConsumer

    async def dispatch(self, message):
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    WidgetConsumer.dispatch = dispatch
    AgentConsumer.dispatch = dispatch


def database_threads() -> None:
    import functools

    from channels.db import DatabaseSyncToAsync

    import channels_in.widget_consumer as consumer

    consumer.database_sync_to_async = functools.partial(DatabaseSyncToAsync, thread_sensitive=False)


def _timed(owner, name: str, field: str) -> None:
    original = getattr(owner, name)

    def wrapper(*args, **kwargs):
        record = getattr(_current, "record", None)
        started = time.monotonic()
        try:
            return original(*args, **kwargs)
        finally:
            if record is not None:
                record[field] = record.get(field, 0.0) + (time.monotonic() - started) * 1000

    setattr(owner, name, wrapper)


def instrument() -> None:
    from django.db.backends.base.base import BaseDatabaseWrapper

    import agents.live
    import channels_in.widget_consumer as consumer
    import channels_in.widgets as widgets
    import helpdesk.live

    receive = consumer.WidgetConsumer.receive

    async def timed_receive(self, text_data=None, bytes_data=None):
        _arrival.set(time.monotonic())
        return await receive(self, text_data=text_data, bytes_data=bytes_data)

    consumer.WidgetConsumer.receive = timed_receive

    original = consumer.receive_visitor_message

    def timed_receive_visitor_message(**kwargs):
        try:
            client_id = json.loads(kwargs["raw"]).get("client_id", "")
        except ValueError:
            client_id = ""
        record = {"arrival": _arrival.get(), "thread_start": time.monotonic()}
        _current.record = record
        try:
            return original(**kwargs)
        finally:
            record["thread_end"] = time.monotonic()
            _current.record = None
            if client_id:
                _records[str(client_id)] = record

    consumer.receive_visitor_message = timed_receive_visitor_message
    _timed(BaseDatabaseWrapper, "connect", "connect_ms")
    _timed(BaseDatabaseWrapper, "commit", "commit_ms")
    _timed(widgets, "store_raw", "store_raw_ms")
    _timed(widgets, "process_raw", "process_raw_ms")
    _timed(widgets, "visitor_groups", "groups_ms")

    publish = agents.live.publish

    def timed_publish(group, message):
        record = getattr(_current, "record", None)
        if record is not None and group.startswith("agents.ticket."):
            record["publish"] = time.monotonic()
            _by_message[id(message)] = record
        return publish(group, message)

    agents.live.publish = timed_publish
    send = helpdesk.live._send

    async def timed_send(layer, group, message):
        record = _by_message.pop(id(message), None)
        if record is not None:
            record["loop_start"] = time.monotonic()
        try:
            return await send(layer, group, message)
        finally:
            if record is not None:
                record["loop_end"] = time.monotonic()

    helpdesk.live._send = timed_send


def _terminate(signum, frame):
    raise SystemExit(0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--lift-rate-limits", action="store_true")
    parser.add_argument("--no-dispatch-hop", action="store_true")
    parser.add_argument("--db-threads", action="store_true")
    parser.add_argument("--timing", type=Path)
    args = parser.parse_args()
    if args.lift_rate_limits:
        lift_rate_limits()
    if args.no_dispatch_hop:
        skip_dispatch_hop()
    if args.db_threads:
        database_threads()
    if args.timing:
        instrument()
    # uvicorn re-raises the signal it stopped on once it has shut down: make SIGTERM an
    # exception here (not a kill), so the timings below are written.
    signal.signal(signal.SIGTERM, _terminate)
    try:
        call_command("serve", host="127.0.0.1", port=args.port)
    finally:
        if args.timing:
            with args.timing.open("w") as out:
                for client_id, record in _records.items():
                    out.write(json.dumps({"client_id": client_id, **record}) + "\n")


if __name__ == "__main__":
    main()
