"""Measure one generated database: ingest throughput, the inbox list, a long timeline.

    .venv/bin/python bench/measure.py --label 1m --out bench/out/1m.json

bench/run.sh calls it once per scale, after generate_load_data. It is a
measurement, not a test: it needs the generated data (load inboxes, agents
agent01@load.example and manager1@load.example, a customer marked "heavy")
and writes what it saw as JSON for bench/report.py.

Every figure is taken warm (a warm-up pass first) and reported as median and
95th percentile over repeated runs. Query counts come from
django.test.utils.CaptureQueriesContext in separate passes, so recording SQL
never slows the timed runs.
"""

from __future__ import annotations

import argparse
import copy
import inspect
import json
import math
import os
import platform
import random
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection  # noqa: E402
from django.template import Context, Template  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.urls import Resolver404, resolve  # noqa: E402

from agents.accounts import create_agent  # noqa: E402
from tickets import events as ticket_events  # noqa: E402
from tickets.access import visible_tickets  # noqa: E402
from tickets.ingest import InboundMessage, SenderIdentity, ingest  # noqa: E402
from tickets.listing import TicketFilters, list_tickets  # noqa: E402
from tickets.models import (  # noqa: E402
    OPEN_STATUSES,
    Channel,
    Customer,
    Identity,
    IdentityKind,
    Inbox,
    Message,
    Ticket,
    TimelineEvent,
)
from tickets.timeline import timeline_page  # noqa: E402

VIEWS = ("all", "mine", "unassigned", "teams")
PAGE_SIZES = (25, 100)
PASSWORD = "load-data-password"
AGENT_EMAIL = "agent01@load.example"
MANAGER_EMAIL = "manager1@load.example"
ROW_TEMPLATE = ROOT / "bench" / "templates" / "inbox_rows.html"


# --- timing helpers ----------------------------------------------------------------------


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(pct / 100 * len(ordered)) - 1)]


def timed(fn: Callable[[], object], *, warmup: int, runs: int, rounds: int = 5) -> dict:
    """Milliseconds per call, after `warmup` calls: `runs` calls in `rounds` rounds.

    p50 and p95 are the medians of the rounds' own p50 and p95, so a burst of other
    work on this shared 2-core machine spoils one round, not the figure.
    """
    for _ in range(warmup):
        fn()
    per_round = max(1, runs // rounds)
    p50s, p95s, everything = [], [], []
    for _ in range(rounds):
        samples = []
        for _ in range(per_round):
            started = time.perf_counter()
            fn()
            samples.append((time.perf_counter() - started) * 1000)
        p50s.append(statistics.median(samples))
        p95s.append(percentile(samples, 95))
        everything += samples
    return {
        "p50_ms": round(statistics.median(p50s), 2),
        "p95_ms": round(statistics.median(p95s), 2),
        "p95_all_ms": round(percentile(everything, 95), 2),
        "max_ms": round(max(everything), 2),
        "runs": per_round * rounds,
        "rounds": rounds,
    }


def count_queries(fn: Callable[[], object]) -> tuple[int, list[str]]:
    with CaptureQueriesContext(connection) as captured:
        fn()
    return len(captured.captured_queries), [q["sql"] for q in captured.captured_queries]


def measure_endpoint(fn: Callable[[], object], *, warmup: int, runs: int) -> dict:
    """timed() plus the query count; an endpoint that fails (others are still building
    it) is recorded as an error instead of stopping the whole benchmark."""
    try:
        figure = timed(fn, warmup=warmup, runs=runs)
        figure["queries"], _ = count_queries(fn)
    except Exception as exc:  # noqa: BLE001 - report whatever broke and go on
        print(f"  ! {fn.__name__} failed: {exc!r}"[:300], flush=True)
        return {"error": repr(exc)[:300]}
    return figure


def show(figure: dict) -> str:
    if "error" in figure:
        return "ERROR"
    return f"p50 {figure['p50_ms']} p95 {figure['p95_ms']} ms ({figure.get('queries', '?')} q)"


def fresh(user):
    """The user as a new request would see it: role and teams not cached yet."""
    clone = copy.copy(user)
    for name in ("_helpdesk_role", "_helpdesk_team_ids"):
        clone.__dict__.pop(name, None)
    return clone


def route_exists(path: str) -> bool:
    try:
        match = resolve(path)
    except Resolver404:
        return False
    return "unknown" not in (match.url_name or "") and match.func.__name__ != "unknown_endpoint"


# --- dataset ---------------------------------------------------------------------------------


def dataset() -> dict:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_size_pretty(pg_database_size(current_database()))")
        size = cursor.fetchone()[0]

        def estimate(model) -> int:
            cursor.execute(
                "SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass",
                [model._meta.db_table],
            )
            return int(cursor.fetchone()[0])

        counts = {
            "tickets": Ticket.objects.count(),
            "open_tickets": Ticket.objects.filter(status__in=OPEN_STATUSES).count(),
            "customers": Customer.objects.count(),
            "messages": estimate(Message),
            "timeline_events": estimate(TimelineEvent),
            "database_size": size,
        }
    return counts


def machine() -> dict:
    def read(path: str) -> str:
        try:
            return Path(path).read_text()
        except OSError:
            return ""

    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in read("/proc/cpuinfo").splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    mem_kb = next(
        (
            int(line.split()[1])
            for line in read("/proc/meminfo").splitlines()
            if line.startswith("MemTotal")
        ),
        0,
    )
    with connection.cursor() as cursor:
        cursor.execute("SELECT version()")
        pg_version = cursor.fetchone()[0]
        pg_settings = {}
        for name in (
            "shared_buffers",
            "work_mem",
            "effective_cache_size",
            "random_page_cost",
            "synchronous_commit",
            "max_parallel_workers_per_gather",
        ):
            cursor.execute(f"SHOW {name}")
            pg_settings[name] = cursor.fetchone()[0]
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
    except OSError:
        commit = ""
    return {
        "nproc": os.cpu_count(),
        "memory_gib": round(mem_kb / 1024 / 1024, 1),
        "cpu": cpu,
        "python": platform.python_version(),
        "django": django.get_version(),
        "postgresql": pg_version.split(" on ")[0],
        "pg_settings": pg_settings,
        "channel_layer": settings.CHANNEL_LAYERS["default"]["BACKEND"],
        "git_commit": commit,
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


# --- a. ingest -----------------------------------------------------------------------------------

LOREM = {
    "en": (
        "Hello, I ordered a blue jacket last week (order {n}) and it still has not shipped. "
        "Could you tell me when it will be sent? Thanks."
    ),
    "pl": (
        "Dzień dobry, w zeszłym tygodniu zamówiłam niebieską kurtkę (zamówienie {n}) i nadal "
        "nie została wysłana. Kiedy mogę się jej spodziewać? Dziękuję."
    ),
    "cs": (
        "Dobrý den, minulý týden jsem objednala modrou bundu (objednávka {n}) a pořád nebyla "
        "odeslána. Kdy ji můžete poslat? Děkuji."
    ),
}


class InboundMix:
    """A realistic stream of inbound messages for ingest():

    40 % first messages from new customers, 30 % follow-ups from those,
    20 % messages from customers already in the database (on any of their
    channels), 10 % email replies quoting an earlier message (thread hints).
    """

    def __init__(self, seed: int = 7) -> None:
        self.rnd = random.Random(seed)
        self.token = f"{uuid.uuid4().hex[:6]}{seed % 100:02d}"
        self.n = 0
        inboxes = Inbox.objects.filter(config__load_data=True, is_active=True).order_by("id")
        self.inboxes: dict[str, list[Inbox]] = {}
        for inbox in inboxes:
            self.inboxes.setdefault(inbox.channel, []).append(inbox)
        if not self.inboxes:
            raise SystemExit("No load data: run generate_load_data first.")
        self.by_id = {i.pk: i for group in self.inboxes.values() for i in group}
        self.new_senders: list[tuple[str, str, Inbox, str]] = []
        self.existing = self._sample_identities(3000)
        self.replies = self._sample_replies(800)

    def _sample_identities(self, count: int) -> list[Identity]:
        bounds = Identity.objects.filter(value__contains="load.example").order_by("id")
        low = bounds.values_list("id", flat=True).first() or 1
        high = Identity.objects.order_by("-id").values_list("id", flat=True).first() or low
        picks = self.rnd.sample(range(low, high + 1), min(count * 2, high - low + 1))
        kinds = {
            IdentityKind.EMAIL,
            IdentityKind.PHONE,
            IdentityKind.MESSENGER,
            IdentityKind.WIDGET,
        }
        return [i for i in Identity.objects.filter(pk__in=picks) if i.kind in kinds][:count]

    def _sample_replies(self, count: int) -> list[tuple[Message, str]]:
        email_inboxes = [i.pk for i in self.inboxes.get(Channel.EMAIL, [])]
        top = Message.objects.order_by("-id").values_list("id", flat=True).first() or 1
        picks = self.rnd.sample(range(1, top + 1), min(count * 6, top))
        found = list(
            Message.objects.filter(pk__in=picks, inbox_id__in=email_inboxes, direction="in")
            .exclude(external_id=None)
            .select_related("ticket")[:count]
        )
        emails = dict(
            Identity.objects.filter(
                customer_id__in={m.ticket.customer_id for m in found}, kind=IdentityKind.EMAIL
            ).values_list("customer_id", "value")
        )
        return [(m, emails[m.ticket.customer_id]) for m in found if m.ticket.customer_id in emails]

    def _channel(self) -> str:
        pick = self.rnd.random()
        for channel, bound in ((Channel.EMAIL, 0.5), (Channel.WIDGET, 0.75), (Channel.SMS, 0.87)):
            if pick < bound and channel in self.inboxes:
                return channel
        return Channel.MESSENGER if Channel.MESSENGER in self.inboxes else next(iter(self.inboxes))

    def _message(
        self,
        *,
        channel: str,
        inbox: Inbox,
        kind: str,
        value: str,
        name: str = "",
        locale: str = "en",
        hints: tuple[str, ...] = (),
        subject: str = "",
    ) -> InboundMessage:
        self.n += 1
        text = LOREM.get(locale, LOREM["en"]).format(n=100000 + self.n)
        html = ""
        if channel == Channel.EMAIL:
            html = (
                f"<div dir='ltr'><p>{text}</p><p>--<br>{name}</p>"
                "<blockquote type='cite'><p>Earlier message…</p></blockquote></div>"
            )
        return InboundMessage(
            inbox_id=inbox.pk,
            channel=channel,
            sender=SenderIdentity(kind=kind, value=value, name=name),
            external_id=f"bench-{self.token}-{self.n}",
            text=text,
            html=html,
            subject=subject or (f"Order {100000 + self.n}" if channel == Channel.EMAIL else ""),
            thread_hints=hints,
            locale=locale,
        )

    def inbox_of(self, inbound: InboundMessage) -> Inbox:
        return self.by_id[inbound.inbox_id]

    def next(self) -> tuple[str, InboundMessage]:
        pick = self.rnd.random()
        if pick < 0.3 and self.new_senders:
            kind, value, inbox, locale = self.rnd.choice(self.new_senders)
            return "follow-up", self._message(
                channel=inbox.channel, inbox=inbox, kind=kind, value=value, locale=locale
            )
        if pick < 0.5 and self.existing:
            identity = self.rnd.choice(self.existing)
            channel = {
                IdentityKind.EMAIL: Channel.EMAIL,
                IdentityKind.PHONE: Channel.SMS,
                IdentityKind.MESSENGER: Channel.MESSENGER,
                IdentityKind.WIDGET: Channel.WIDGET,
            }[identity.kind]
            if channel in self.inboxes:
                inbox = self.rnd.choice(self.inboxes[channel])
                return "existing customer", self._message(
                    channel=channel, inbox=inbox, kind=identity.kind, value=identity.value
                )
        if pick < 0.6 and self.replies:
            message, email = self.rnd.choice(self.replies)
            inbox = next(i for i in self.inboxes[Channel.EMAIL] if i.pk == message.inbox_id)
            return "email reply (thread hint)", self._message(
                channel=Channel.EMAIL,
                inbox=inbox,
                kind=IdentityKind.EMAIL,
                value=email,
                hints=(message.external_id,),
                subject=f"Re: {message.ticket.subject}",
            )
        channel = self._channel()
        inbox = self.rnd.choice(self.inboxes[channel])
        locale = self.rnd.choice(("en", "pl", "cs"))
        kind = {
            Channel.EMAIL: IdentityKind.EMAIL,
            Channel.SMS: IdentityKind.PHONE,
            Channel.MESSENGER: IdentityKind.MESSENGER,
            Channel.WIDGET: IdentityKind.WIDGET,
        }[channel]
        value = {
            Channel.EMAIL: f"bench.{self.token}.{self.n}@customers.example",
            Channel.SMS: f"+4879{self.token[:4]}{self.n:07d}",
            Channel.MESSENGER: f"9{self.token}{self.n}",
            Channel.WIDGET: f"bench-visitor-{self.token}-{self.n}",
        }[channel]
        self.new_senders.append((kind, value, inbox, locale))
        return "new customer", self._message(
            channel=channel, inbox=inbox, kind=kind, value=value, name="Nowy Klient", locale=locale
        )


def summarize(sql: str) -> str:
    """`SELECT … FROM tickets_ticket`, `UPDATE tickets_customer`: what a statement touches."""
    words = sql.replace('"', "").split()
    if words[0] == "SELECT":
        table = next((words[i + 1] for i, w in enumerate(words[:-1]) if w == "FROM"), "?")
        return f"SELECT … FROM {table}" + (" FOR UPDATE" if "FOR UPDATE" in sql else "")
    if words[0] == "INSERT":
        return f"INSERT INTO {words[2]}"
    return " ".join(words[:2])


def deliver(mix: InboundMix, inbound: InboundMessage):
    """ingest() as the webhooks call it: with the Inbox they already hold, if it takes one."""
    if INGEST_TAKES_INBOX:
        return ingest(inbound, inbox=mix.inbox_of(inbound))
    return ingest(inbound)


INGEST_TAKES_INBOX = "inbox" in inspect.signature(ingest).parameters


def bench_ingest(*, rounds: int, per_round: int, warmup: int, counted: int) -> dict:
    mix = InboundMix()
    handlers = ticket_events._handlers
    saved = {kind: list(found) for kind, found in handlers.items()}

    def run_rounds() -> dict:
        for _ in range(warmup):
            deliver(mix, mix.next()[1])
        rates, latencies = [], []
        for _ in range(rounds):
            batch = [mix.next()[1] for _ in range(per_round)]
            started = time.perf_counter()
            for inbound in batch:
                t0 = time.perf_counter()
                deliver(mix, inbound)
                latencies.append((time.perf_counter() - t0) * 1000)
            rates.append(per_round / (time.perf_counter() - started))
        return {
            "messages_per_s": round(statistics.median(rates)),
            "rounds": [round(r) for r in rates],
            "p50_ms": round(statistics.median(latencies), 2),
            "p95_ms": round(percentile(latencies, 95), 2),
            "messages": warmup + rounds * per_round,
        }

    results = {}
    # 1. ingest() alone: the database work (no subscriber listening).
    handlers.clear()
    try:
        results["db_only"] = run_rounds()
    finally:
        handlers.clear()
        handlers.update(saved)
    # 2. as deployed: MessageReceived subscribers run after commit (live push to agents).
    results["with_subscribers"] = run_rounds()
    results["subscribers"] = sorted(
        f"{h.__module__}.{h.__name__}" for h in handlers.get(ticket_events.MessageReceived, [])
    )

    # Where the time of one message goes: SQL statements (round trip and server
    # work) against the rest (Django ORM, Python, sanitizing, the commit).
    sql_time = [0.0]

    def clock(execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            sql_time[0] += time.perf_counter() - started

    handlers.clear()
    try:
        batch = [mix.next()[1] for _ in range(counted)]
        started = time.perf_counter()
        with connection.execute_wrapper(clock):
            for inbound in batch:
                deliver(mix, inbound)
        total = time.perf_counter() - started
    finally:
        handlers.clear()
        handlers.update(saved)
    results["split_ms"] = {
        "total": round(total / counted * 1000, 3),
        "sql_statements": round(sql_time[0] / counted * 1000, 3),
        "commit_and_python": round((total - sql_time[0]) / counted * 1000, 3),
        "raw_insert_commit": round(raw_commit_ms(), 3),
    }
    results["processes"] = {str(n): ingest_in_processes(n, per_process=per_round) for n in (2, 4)}

    by_kind: dict[str, list[int]] = {}
    examples: dict[str, list[str]] = {}
    for _ in range(counted):
        kind, inbound = mix.next()
        _n, sql = count_queries(lambda inbound=inbound: deliver(mix, inbound))
        # Django logs BEGIN and COMMIT too; count the statements that do the work.
        work = [q for q in sql if q not in ("BEGIN", "COMMIT") and "SAVEPOINT" not in q]
        by_kind.setdefault(kind, []).append(len(work))
        examples.setdefault(kind, [summarize(q) for q in work])
    everything = [n for values in by_kind.values() for n in values]
    results["statements"] = {
        "mean": round(statistics.mean(everything), 2),
        "max": max(everything),
        "by_kind": {
            k: {"mean": round(statistics.mean(v), 2), "max": max(v), "n": len(v)}
            for k, v in sorted(by_kind.items())
        },
        "examples": examples,
    }
    return results


def raw_commit_ms(count: int = 500) -> float:
    """The floor: one single-row INSERT and a durable COMMIT, straight through psycopg2."""
    connection.ensure_connection()
    raw = connection.connection
    with raw.cursor() as cursor:
        # A real (logged) table: what a durable commit costs here.
        cursor.execute("CREATE TABLE IF NOT EXISTS bench_commit_probe (id serial, v text)")
        raw.commit()
        started = time.perf_counter()
        for _ in range(count):
            cursor.execute("INSERT INTO bench_commit_probe (v) VALUES ('x')")
            raw.commit()
        elapsed = time.perf_counter() - started
        cursor.execute("DROP TABLE bench_commit_probe")
        raw.commit()
    return elapsed / count * 1000


def _ingest_worker(seed: int, count: int, barrier, results) -> None:
    from django.db import connections

    connections.close_all()  # never share the parent's socket
    ticket_events._handlers.clear()
    mix = InboundMix(seed=seed)
    for _ in range(50):
        deliver(mix, mix.next()[1])
    batch = [mix.next()[1] for _ in range(count)]
    barrier.wait()
    started = time.time()
    for inbound in batch:
        deliver(mix, inbound)
    results.put((started, time.time(), count))
    connections.close_all()


def ingest_in_processes(processes: int, *, per_process: int) -> dict:
    """Aggregate ingest() throughput of N processes at once (no subscribers)."""
    import multiprocessing

    from django.db import connections

    context = multiprocessing.get_context("fork")
    connections.close_all()
    barrier = context.Barrier(processes)
    queue = context.Queue()
    workers = [
        context.Process(target=_ingest_worker, args=(100 + i, per_process, barrier, queue))
        for i in range(processes)
    ]
    for worker in workers:
        worker.start()
    spans = [queue.get(timeout=600) for _ in workers]
    for worker in workers:
        worker.join()
    first = min(s[0] for s in spans)
    last = max(s[1] for s in spans)
    total = sum(s[2] for s in spans)
    return {"messages": total, "messages_per_s": round(total / (last - first))}


# --- b. the agent inbox list ---------------------------------------------------------------


def explain(sql: str) -> dict:
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + sql)
        plan = [row[0] for row in cursor.fetchall()]
    nodes = [
        line.strip().lstrip("-> ").split("  (")[0]
        for line in plan
        if "Scan" in line or "Sort" in line or "Limit" in line
    ]
    execution = next((line for line in plan if line.startswith("Execution Time")), "")
    return {"nodes": nodes[:6], "execution": execution, "plan": plan}


def bench_lists(agent, manager, *, warmup: int, runs: int) -> dict:
    template = Template(ROW_TEMPLATE.read_text())
    api_ready = route_exists("/api/v1/tickets/")
    tokens = {"agent": agent.token, "manager": manager.token}
    results: list[dict] = []
    plans: dict[str, dict] = {}
    view_client = {}
    for role, user in (("agent", agent.user), ("manager", manager.user)):
        client = Client()
        client.force_login(user)
        view_client[role] = client
    # The real agent view is measured when it renders the tickets list_tickets returns.
    probe = list_tickets(fresh(agent.user), TicketFilters(), limit=1).tickets
    response = view_client["agent"].get("/agent/", {"view": "all", "limit": 25})
    view_ready = (
        response.status_code == 200
        and bool(probe)
        and (f"/agent/tickets/{probe[0].pk}/" in response.content.decode())
    )
    accounts = {"agent": agent, "manager": manager}
    cases = [
        (role, view, size, "recent") for role in accounts for view in VIEWS for size in PAGE_SIZES
    ]
    # Other sorts, for the record: "waiting" reads the open-ticket indexes backwards.
    cases += [
        ("manager", "all", 25, "waiting"),
        ("agent", "mine", 25, "waiting"),
        ("manager", "all", 25, "priority"),
        ("manager", "all", 25, "newest"),
    ]
    for role, view, size, sort in cases:
        user = accounts[role].user
        api = Client(HTTP_AUTHORIZATION=f"Token {tokens[role].key}")
        filters = TicketFilters(view=view, sort=sort)

        def core(filters=filters, size=size, user=user) -> str:
            page = list_tickets(fresh(user), filters, limit=size)
            return template.render(Context({"page": page}))

        row = {"role": role, "view": view, "page_size": size, "sort": sort}
        row["rows"] = len(list_tickets(fresh(user), filters, limit=size).tickets)
        row["core"] = timed(core, warmup=warmup, runs=runs)
        row["core"]["queries"], sql = count_queries(core)
        ticket_sql = next(
            (s for s in sql if "tickets_ticket" in s.split("FROM", 1)[-1] and "LIMIT" in s), None
        )
        if ticket_sql:
            plans[f"{role}/{view}/{size}/{sort}"] = explain(ticket_sql)
        # page 2 through the cursor: same plan, one more keyset condition
        first = list_tickets(fresh(user), filters, limit=size)
        if first.next_cursor:
            row["core_page2"] = timed(
                lambda f=filters, c=first.next_cursor, s=size, u=user: template.render(
                    Context({"page": list_tickets(fresh(u), f, cursor=c, limit=s)})
                ),
                warmup=warmup // 2,
                runs=runs // 2,
            )
        if view_ready:
            client = view_client[role]
            params = {"view": view, "limit": size, "sort": sort}

            def through_view(client=client, params=params):
                response = client.get("/agent/", params)
                assert response.status_code == 200, response.status_code

            row["agent"] = measure_endpoint(through_view, warmup=warmup, runs=runs)
        if api_ready:
            params = {"view": view, "page_size": size, "sort": sort}

            def through_api(api=api, params=params):
                response = api.get("/api/v1/tickets/", params)
                assert response.status_code == 200, (response.status_code, response.content[:300])

            row["api"] = measure_endpoint(through_api, warmup=warmup, runs=runs)
        results.append(row)
        print(
            f"  list {role:7} {view:10} {size:3} {sort:8}: core {show(row['core'])}"
            + (f", /agent/ {show(row['agent'])}" if "agent" in row else "")
            + (f", api {show(row['api'])}" if "api" in row else ""),
            flush=True,
        )
    return {"rows": results, "plans": plans, "view_ready": view_ready, "api_ready": api_ready}


# --- c. the customer timeline -------------------------------------------------------------


def heavy_customer(target: int = 1000) -> tuple[Customer, int]:
    candidates = list(Customer.objects.filter(attributes__load_data="heavy"))
    if not candidates:
        raise SystemExit("No heavy customer: generate_load_data --heavy-customer-events 1000.")
    counted = [(c, TimelineEvent.objects.filter(customer=c).count()) for c in candidates]
    return min(counted, key=lambda pair: abs(pair[1] - target))


def bench_timeline(agent, manager, *, warmup: int, runs: int) -> dict:
    customer, events = heavy_customer()
    results: list[dict] = []
    api_ready = route_exists(f"/api/v1/customers/{customer.pk}/timeline/")
    ticket_view_ready = route_exists("/agent/tickets/1/")
    plans = {}
    for role, account in (("agent", agent), ("manager", manager)):
        user = account.user
        # The customer's latest ticket this user may open: where the agent UI shows the timeline.
        latest = (
            visible_tickets(fresh(user))
            .filter(customer=customer)
            .order_by("-last_activity_at")
            .first()
        )
        # The middle of the history: older than the customer's newest events/2 events.
        middle = (
            TimelineEvent.objects.filter(customer=customer)
            .order_by("-id")
            .values_list("id", flat=True)[events // 2]
        )
        for page_name, before in (("first page", None), ("middle page", middle)):

            def core(before=before, user=user):
                page = timeline_page(customer_id=customer.pk, user=fresh(user), before=before)
                # Touch what a template shows, so lazy loads would be counted.
                for event in page.events:
                    if event.message_id:
                        _ = event.message.body_text, event.message.author
                        list(event.message.attachments.all())
                    _ = event.ticket, event.actor
                return page

            row = {
                "role": role,
                "page": page_name,
                "events": len(
                    timeline_page(customer_id=customer.pk, user=fresh(user), before=before).events
                ),
            }
            row["core"] = timed(core, warmup=warmup, runs=runs)
            row["core"]["queries"], sql = count_queries(core)
            main = next((s for s in sql if "tickets_timelineevent" in s.split("FROM", 1)[-1]), None)
            if main:
                plans[f"{role}/{page_name}"] = explain(main)
            if api_ready:
                api = Client(HTTP_AUTHORIZATION=f"Token {account.token.key}")
                params = {"before": before} if before else {}

                def through_api(api=api, params=params):
                    response = api.get(f"/api/v1/customers/{customer.pk}/timeline/", params)
                    assert response.status_code == 200, (
                        response.status_code,
                        response.content[:300],
                    )

                row["api"] = measure_endpoint(through_api, warmup=warmup, runs=runs)
            if ticket_view_ready and latest is not None:
                client = Client()
                client.force_login(account.user)
                # The agent's timeline endpoint: the partial the ticket page loads pages with.
                url = f"/agent/tickets/{latest.pk}/timeline/"
                params = {"before": before} if before else {}

                def through_view(client=client, url=url, params=params):
                    response = client.get(url, params)
                    assert response.status_code == 200, response.status_code

                row["agent"] = measure_endpoint(through_view, warmup=warmup, runs=runs)
                row["agent"]["url"] = "/agent/tickets/<id>/timeline/" + (
                    "?before=…" if before else ""
                )
                if before is None:
                    # The whole ticket page: header, properties, composer, merge form and
                    # the first page of the timeline.
                    page_url = f"/agent/tickets/{latest.pk}/"

                    def whole_page(client=client, url=page_url):
                        response = client.get(url)
                        assert response.status_code == 200, response.status_code

                    row["ticket_page"] = measure_endpoint(whole_page, warmup=warmup, runs=runs)
                    row["ticket_page"]["url"] = "/agent/tickets/<id>/"
            results.append(row)
            print(
                f"  timeline {role:7} {page_name}: core {show(row['core'])}"
                + (f", api {show(row['api'])}" if "api" in row else "")
                + (f", /agent/ {show(row['agent'])}" if "agent" in row else "")
                + (f", ticket page {show(row['ticket_page'])}" if "ticket_page" in row else ""),
                flush=True,
            )
    return {
        "customer": customer.pk,
        "events": events,
        "rows": results,
        "plans": plans,
        "api_ready": api_ready,
        "view_ready": ticket_view_ready,
    }


# --- main ----------------------------------------------------------------------------------------


class Account:
    def __init__(self, email: str, role: str, team: str | None) -> None:
        # Through the real function: profile, role group and API token as in production.
        self.user, self.token = create_agent(email=email, password=PASSWORD, role=role, team=team)
        self.user = get_user_model().objects.get(pk=self.user.pk)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--label", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--runs", type=int, default=int(os.environ.get("BENCH_RUNS", 200)))
    parser.add_argument("--skip-ingest", action="store_true")
    parser.add_argument(
        "--generation-seconds",
        type=int,
        default=None,
        help="how long generate_load_data took (recorded in the results)",
    )
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        raise SystemExit("The benchmarks measure PostgreSQL: set DATABASE_URL.")
    runs = args.runs
    warmup = max(10, runs // 10)
    started = time.monotonic()
    result: dict = {
        "label": args.label,
        "machine": machine(),
        "dataset": dataset(),
        "generation_s": args.generation_seconds,
        "load_average_before": [round(x, 2) for x in os.getloadavg()],
    }
    print(f"[{args.label}] dataset: {result['dataset']}", flush=True)
    agent = Account(AGENT_EMAIL, "agent", "Support")
    manager = Account(MANAGER_EMAIL, "manager", "Support")
    result["lists"] = bench_lists(agent, manager, warmup=warmup, runs=runs)
    result["timeline"] = bench_timeline(agent, manager, warmup=warmup, runs=runs)
    if not args.skip_ingest:
        # Last: it adds tickets, which the list figures above should not see.
        result["ingest"] = bench_ingest(rounds=5, per_round=600, warmup=300, counted=300)
        print(
            f"  ingest: {result['ingest']['db_only']['messages_per_s']} msg/s db only, "
            f"{result['ingest']['with_subscribers']['messages_per_s']} msg/s with subscribers, "
            f"{result['ingest']['statements']['mean']} statements/message",
            flush=True,
        )
    result["elapsed_s"] = round(time.monotonic() - started, 1)
    result["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1, default=str))
    print(f"[{args.label}] measured in {result['elapsed_s']} s -> {out}", flush=True)


if __name__ == "__main__":
    main()
