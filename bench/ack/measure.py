"""Acknowledgement latency: from ingest() of a new ticket's first mail to the moment the
acknowledgement reaches the SMTP server, through one Celery worker on Redis.

Run by bench/ack/run.sh on a migrated PostgreSQL database (DATABASE_URL) and Redis
(REDIS_URL). This process plays the webhook (it calls ingest(), as the email webhook does
after parsing) and the mail server (aiosmtpd on 127.0.0.1, stamping each arrival); the
worker is a separate `celery worker` process with one prefork child, like production's.

The inbox has history (answered tickets, for the median first response) and a queue
(unanswered tickets), so the expected-reply computation does its real queries.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Sink:
    """An SMTP server that notes when mail for each address arrives."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        self.arrived: dict[str, float] = {}
        self.lock = threading.Lock()
        sink = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):  # noqa: N802
                now = time.monotonic()
                with sink.lock:
                    for address in envelope.rcpt_tos:
                        sink.arrived.setdefault(address, now)
                return "250 OK"

        self.port = free_port()
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)

    def start(self) -> None:
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()


def setup(history: int, queue: int) -> int:
    """Agents, an email inbox with acknowledgements on, its history and queue: the inbox id."""
    from datetime import timedelta

    import time_machine
    from django.utils import timezone

    from agents.accounts import create_agent
    from channels_in.inboxes import create_inbox
    from tickets.ingest import InboundMessage, SenderIdentity, ingest
    from tickets.models import Channel, Team
    from tickets.replies import record_reply

    team = Team.objects.get_or_create(name="Support")[0]
    agents = [
        create_agent(
            email=f"agent{n}@shop.example", password="bench-pass-2026", role="agent", team="Support"
        )[0]
        for n in range(3)
    ]
    inbox = create_inbox(
        channel=Channel.EMAIL,
        name="Support",
        team=team,
        config={
            "address": "support@shop.example",
            "business_hours": {
                "timezone": "Europe/Warsaw",
                "week": {
                    d: [["00:00", "24:00"]]
                    for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
                },
                "holidays": "PL",
            },
            "reply_within_hours": 4,
            "acknowledgement": {"enabled": False},
        },
    )

    def write(sender: str) -> object:
        return ingest(
            InboundMessage(
                inbox_id=inbox.pk,
                channel=Channel.EMAIL,
                external_id=f"{sender}-setup",
                sender=SenderIdentity(kind="email", value=sender, name="Bench Customer"),
                subject="Order question",
                text="Where is my order?",
                continues_conversation=False,
            )
        ).ticket

    start = timezone.now() - timedelta(days=10)
    for n in range(history):
        written = start + timedelta(minutes=37 * n)
        with time_machine.travel(written, tick=False):
            ticket = write(f"history{n}@customers.example")
        with time_machine.travel(written + timedelta(minutes=20 + n % 90), tick=False):
            record_reply(ticket=ticket, author=agents[n % 3], text="Sorted, thank you.")
    for n in range(queue):
        write(f"waiting{n}@customers.example")
    inbox.config["acknowledgement"] = {"enabled": True}
    inbox.save(update_fields=["config"])
    return inbox.pk


def start_worker(env: dict, log: Path) -> subprocess.Popen:
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "helpdesk", "worker", "--pool", "prefork",
             "--concurrency", "1", "--without-heartbeat", "--without-mingle", "--without-gossip",
             "--loglevel", "warning"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    # --loglevel warning hides " ready.": wait for the worker to take a ping instead.
    from helpdesk.celery import app

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the worker exited:\n{log.read_text()[-3000:]}")
        if app.control.ping(timeout=0.5):
            return process
    raise SystemExit(f"the worker did not start:\n{log.read_text()[-3000:]}")


def send(inbox_id: int, count: int, rate: float, prefix: str) -> dict[str, float]:
    """count new tickets, `rate` a second (0: all at once); the start time per address."""
    from tickets.ingest import InboundMessage, SenderIdentity, ingest
    from tickets.models import Channel

    started: dict[str, float] = {}
    next_at = time.monotonic()
    for n in range(count):
        if rate:
            time.sleep(max(0.0, next_at - time.monotonic()))
            next_at += 1 / rate
        address = f"{prefix}{n}@customers.example"
        started[address] = time.monotonic()
        ingest(
            InboundMessage(
                inbox_id=inbox_id,
                channel=Channel.EMAIL,
                external_id=f"{address}-{time.time_ns()}",
                sender=SenderIdentity(kind="email", value=address, name="Anna Bench"),
                subject="Where is my order?",
                text="Hello, where is my order 7301?",
                continues_conversation=False,
            )
        )
    return started


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def collect(sink: Sink, started: dict[str, float], timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with sink.lock:
            if all(a in sink.arrived for a in started):
                break
        time.sleep(0.05)
    with sink.lock:
        latencies = [(sink.arrived[a] - t) * 1000 for a, t in started.items() if a in sink.arrived]
    missing = len(started) - len(latencies)
    if not latencies:
        return {"count": len(started), "missing": missing}
    return {
        "count": len(started),
        "missing": missing,
        "p50_ms": round(percentile(latencies, 50), 1),
        "p90_ms": round(percentile(latencies, 90), 1),
        "p99_ms": round(percentile(latencies, 99), 1),
        "max_ms": round(max(latencies), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    parser.add_argument("--count", type=int, default=300)
    parser.add_argument("--rate", type=float, default=5.0)
    parser.add_argument("--burst", type=int, default=100)
    parser.add_argument("--history", type=int, default=200)
    parser.add_argument("--queue", type=int, default=50)
    parser.add_argument("--log", default="var/bench-ack/worker.log")
    args = parser.parse_args()

    sink = Sink()
    sink.start()
    os.environ["EMAIL_URL"] = f"smtp://127.0.0.1:{sink.port}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk.settings")
    import django

    django.setup()
    from django.db import connection

    began = time.monotonic()
    inbox_id = setup(args.history, args.queue)
    # The set-up's own tasks (the history's replies) are not part of what is measured.
    import redis

    redis.Redis.from_url(os.environ["REDIS_URL"]).flushdb()
    log = Path(args.log)
    log.parent.mkdir(parents=True, exist_ok=True)
    worker = start_worker({**os.environ, "LOG_LEVEL": "WARNING"}, log)
    try:
        collect(sink, send(inbox_id, 20, 10, "warm"), 60)
        steady = collect(sink, send(inbox_id, args.count, args.rate, "steady"), 120)
        burst = collect(sink, send(inbox_id, args.burst, 0, "burst"), 300)
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(timeout=30)
        sink.stop()
    result = {
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "postgres": connection.cursor().connection.server_version,
        },
        "setup": {
            "history_tickets": args.history,
            "queue_tickets": args.queue,
            "agents": 3,
            "worker": "celery prefork, 1 child, Redis broker",
        },
        "steady": {**steady, "rate_per_s": args.rate},
        "burst": burst,
        "seconds": round(time.monotonic() - began),
    }
    Path(args.out).write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
