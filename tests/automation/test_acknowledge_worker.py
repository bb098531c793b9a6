"""Acknowledgements through a real Celery worker consuming from Redis, on PostgreSQL, sent
to a real SMTP server, and what happens when the worker's process is SIGKILLed midway.

What is promised (tickets/acknowledge.py, channels_in/tasks.py):
- killed before anything reached the provider (here: while acknowledging, waiting for the
  customer's row), the task is redelivered (acks_late, reject on worker loss) and the
  acknowledgement is then delivered exactly once;
- killed after the provider has the mail (the SMTP server holds its answer), the task is
  redelivered too, but the outbox row is already claimed ("sending"), so nothing is sent
  again; the sweep marks it "unknown" for an agent. The customer has it exactly once.

Needs the production topology (DATABASE_URL on PostgreSQL and REDIS_URL): the worker gets
a new database of its own on that server and a Redis database of its own (the suite's
number + 8), so it disturbs no other test run.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.mailservers import Received, RecordingSMTPServer, _Recorder
from tests.servers import (
    ROOT,
    _path_of,
    _postgres,
    _with_path,
    kill_serving,
    manage,
    production_topology,
    server_env,
)

pytestmark = pytest.mark.skipif(
    not production_topology(), reason="needs PostgreSQL and Redis (DATABASE_URL, REDIS_URL)"
)


class _Holding(_Recorder):
    """Records the mail at the end of DATA and, while the server is told to hold, does not
    answer yet: the client is then between handing the mail over and hearing it was taken."""

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        answer = await super().handle_DATA(server, session, envelope)
        while self.server.hold.is_set():
            await asyncio.sleep(0.05)
        return answer


class HoldingSMTPServer(RecordingSMTPServer):
    def __init__(self):
        self.hold = threading.Event()
        super().__init__()
        self._controller.handler = _Holding(self)

    def to(self, address: str) -> list[Received]:
        with self.lock:
            return [m for m in self.messages if address in m.rcpt_tos]


@dataclass
class Desk:
    env: dict
    tmp: Path
    smtp: HoldingSMTPServer
    database: str

    def shell(self, code: str) -> dict:
        return json.loads(manage(self.env, "shell", "-v", "0", "-c", code).splitlines()[-1])

    def write(self, sender: str, text: str) -> dict:
        """A customer's mail is ingested (as the email webhook would): its ticket and customer.
        The commit queues the acknowledgement task on Redis."""
        code = f"""
import json
from tickets.ingest import InboundMessage, SenderIdentity, ingest
from tickets.models import Inbox
inbox = Inbox.objects.get(name="Support mail")
result = ingest(InboundMessage(
    inbox_id=inbox.pk, channel="email", external_id={sender + "-" + str(time.time_ns())!r},
    sender=SenderIdentity(kind="email", value={sender!r}, name="Ewa Nowak"),
    subject="Order 7301", text={text!r}, continues_conversation=False))
print(json.dumps({{"ticket": result.ticket.pk, "customer": result.ticket.customer_id}}))
"""
        return self.shell(code)

    def acks(self, ticket: int) -> dict:
        code = f"""
import json
from tickets.models import EventKind, Message, TimelineEvent
acks = list(Message.objects.filter(ticket_id={ticket}, direction="out")
            .values("id", "delivery_state", "delivery_error", "idempotency_key", "send_attempts"))
events = TimelineEvent.objects.filter(ticket_id={ticket}, kind=EventKind.ACKNOWLEDGED).count()
print(json.dumps({{"messages": acks, "events": events}}))
"""
        return self.shell(code)

    def sql(self, statement: str, *params) -> list[tuple]:
        with self.connect() as connection, connection.cursor() as cursor:
            cursor.execute(statement, params)
            return cursor.fetchall() if cursor.description else []

    def connect(self):
        import environ
        import psycopg2

        config = environ.Env.db_url_config(self.env["DATABASE_URL"])
        return psycopg2.connect(
            dbname=config["NAME"],
            user=config.get("USER") or None,
            password=config.get("PASSWORD") or None,
            host=config.get("HOST") or None,
            port=config.get("PORT") or None,
        )


def _until(condition, what: str, timeout: float = 30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    pytest.fail(f"timed out waiting for {what}")


@pytest.fixture(scope="module")
def desk(tmp_path_factory) -> Iterator[Desk]:
    import redis

    tmp = tmp_path_factory.mktemp("ack-worker")
    suite_db, suite_redis = os.environ["DATABASE_URL"], os.environ["REDIS_URL"]
    number = (int(_path_of(suite_redis).strip("/") or 0) + 8) % 16
    redis_url = _with_path(suite_redis, f"/{number}")
    database = f"helpdesk_ack_worker_{os.getpid()}_{time.monotonic_ns() % 10**9}"
    smtp = HoldingSMTPServer()
    smtp.start()
    _postgres(suite_db, f'CREATE DATABASE "{database}"')
    try:
        redis.Redis.from_url(redis_url).flushdb()
        env = {
            **server_env(tmp),
            "DATABASE_URL": _with_path(suite_db, f"/{database}"),
            "REDIS_URL": redis_url,
            "EMAIL_URL": f"smtp://127.0.0.1:{smtp.port}",
            # A send cut off midway is swept to "unknown" after a second, not ten minutes.
            "OUTBOUND_STUCK_AFTER_SECONDS": "1",
        }
        manage(env, "migrate", "--no-input", "-v0")
        manage(env, "create_agent", "ola@shop.example", "--password", "pass-2026-x",
               "--role", "agent", "--team", "Support")  # fmt: skip
        manage(env, "create_inbox", "email", "--name", "Support mail", "--team", "Support",
               "--address", "support@helpdesk.example")  # fmt: skip
        desk = Desk(env=env, tmp=tmp, smtp=smtp, database=database)
        desk.shell(
            "import json; from tickets.models import Inbox; "
            "i = Inbox.objects.get(name='Support mail'); "
            "i.config = {**i.config, 'acknowledgement': {'enabled': True}}; i.save(); "
            "print(json.dumps({}))"
        )
        yield desk
    finally:
        smtp.stop()
        _postgres(suite_db, f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


@contextmanager
def worker(desk: Desk, name: str) -> Iterator[subprocess.Popen]:
    """A Celery worker with one prefork child, like production's, until the block ends."""
    log = desk.tmp / f"{name}.log"
    with log.open("a") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "helpdesk", "worker", "--pool", "prefork",
             "--concurrency", "1", "--without-heartbeat", "--without-mingle",
             "--without-gossip", "--loglevel", "info"],
            cwd=ROOT, env=desk.env, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    try:
        _until(lambda: " ready." in log.read_text(errors="replace"), "the worker to start", 45)
        yield process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                kill_serving(process)
        print(f"--- {name} ---\n{log.read_text(errors='replace')[-3000:]}")


def pool_children(process: subprocess.Popen) -> set[int]:
    found: set[int] = set()
    for task in Path(f"/proc/{process.pid}/task").iterdir():
        children = (task / "children").read_text().split()
        found.update(int(pid) for pid in children)
    return found


def sigkill_the_child(process: subprocess.Popen) -> int:
    (child,) = pool_children(process)
    os.kill(child, signal.SIGKILL)
    return child


def test_a_new_ticket_is_acknowledged_by_the_worker_within_seconds(desk):
    with worker(desk, "worker-plain"):
        started = time.monotonic()
        written = desk.write("jan@example.com", "Where is my order 7301?")
        (mail,) = _until(lambda: desk.smtp.to("jan@example.com"), "the acknowledgement")
        took = time.monotonic() - started

    state = desk.acks(written["ticket"])
    (ack,) = state["messages"]
    assert ack["idempotency_key"] == f"ack:{written['ticket']}"
    assert ack["delivery_state"] == "sent" and state["events"] == 1
    assert mail.message["Auto-Submitted"] == "auto-replied"
    assert f"request #{written['ticket']}" in mail.message.get_body(("plain",)).get_content()
    # Including the shell's own start-up (about a second): bench/ack measures the real figure.
    assert took < 10, took


def test_a_worker_killed_while_acknowledging_is_replaced_and_sends_once(desk):
    # Queued while no worker runs; the customer's row is then held, so the worker stops
    # inside the acknowledgement, after deciding and before recording it.
    written = desk.write("ewa@example.com", "Do you deliver to Gdańsk?")
    holder = desk.connect()
    try:
        with holder.cursor() as cursor:
            cursor.execute(
                "SELECT id FROM tickets_customer WHERE id = %s FOR UPDATE", [written["customer"]]
            )
        with worker(desk, "worker-killed-before") as process:
            _until(
                lambda: desk.sql(
                    "SELECT pid FROM pg_stat_activity WHERE datname = %s AND wait_event_type = "
                    "'Lock'",
                    desk.database,
                ),
                "the worker to wait for the customer's row",
            )
            killed = sigkill_the_child(process)
            holder.rollback()
            _until(lambda: desk.smtp.to("ewa@example.com"), "the acknowledgement after the kill")
            time.sleep(2)  # time enough for a second one, were it coming
            log = (desk.tmp / "worker-killed-before.log").read_text(errors="replace")
    finally:
        holder.close()

    assert str(killed) in log and "WorkerLostError" in log, log[-3000:]
    assert len(desk.smtp.to("ewa@example.com")) == 1
    state = desk.acks(written["ticket"])
    (ack,) = state["messages"]
    assert (ack["delivery_state"], ack["send_attempts"], state["events"]) == ("sent", 1, 1)


def test_a_worker_killed_after_the_provider_took_the_mail_never_sends_it_again(desk):
    desk.smtp.hold.set()
    try:
        with worker(desk, "worker-killed-after") as process:
            written = desk.write("olga@example.com", "Is the trowel in stock?")
            _until(lambda: desk.smtp.to("olga@example.com"), "the mail to reach the server")
            sigkill_the_child(process)
            desk.smtp.hold.clear()
            # The redelivered task finds the message claimed and sends nothing.
            _until(
                lambda: (
                    "WorkerLostError"
                    in (desk.tmp / "worker-killed-after.log").read_text(errors="replace")
                ),
                "the worker to notice its child's death",
            )
            time.sleep(3)
            swept = desk.shell(
                "import json; from channels_in.tasks import sweep_outbound; "
                "sweep_outbound(); print(json.dumps({}))"
            )
    finally:
        desk.smtp.hold.clear()

    assert swept == {}
    assert len(desk.smtp.to("olga@example.com")) == 1
    state = desk.acks(written["ticket"])
    (ack,) = state["messages"]
    assert ack["delivery_state"] == "unknown", ack
    assert "check with the customer before resending" in ack["delivery_error"]
    assert ack["send_attempts"] == 1 and state["events"] == 1
