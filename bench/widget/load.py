"""Load client for the widget bench (bench/widget/run.sh): idle sockets, and chat latency.

    .venv/bin/python bench/widget/load.py connections --setup S.json --port P --server-pid PID \
        --steps 2000,3000,4000,5000 --out connections.json
    .venv/bin/python bench/widget/load.py latency --setup S.json --port P --server-pid PID \
        --conversations 200 --rate 200 --duration 45 --out latency.json

`connections`: opens widget sockets (each handshake completed and its `session` frame read)
in steps, and reads the server's RSS from /proc after each step; then holds them idle, closes
them all at once and checks that the channel layer let go of every subscription and that the
server still answers.

`latency`: agent sockets (one per agent of the setup, each `watch`ing its share of the
conversations, as an open ticket page does), visitor sockets that have already sent a first
message (so the ticket exists), then messages at a paced aggregate rate, round robin over the
conversations. Latency = visitor's send -> the watching agent's socket receiving the
{"type": "notice", "kind": "message", "ticket": id} for it. Notices carry no message id, so
they are matched in order per ticket: one socket sends a conversation's messages, the server
handles a socket's frames one after another and publishes each notice after its commit, and
Redis pub/sub keeps order; so the k-th notice for a ticket is the k-th message sent to it
after logging started (at a quiet moment). The run checks that every ticket got exactly as
many notices as messages, and leaves out (and counts) any ticket where that is not so.

Times are time.monotonic() (CLOCK_MONOTONIC, one clock for every process on the machine), so
a record file joins with the server-side timings of bench/widget/server.py.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import subprocess
import time
from pathlib import Path

import psycopg2
import redis
import uvloop
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed
from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory

CLK = os.sysconf("SC_CLK_TCK")


# --- /proc ------------------------------------------------------------------------------


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def cpu_seconds(pid: int, tid: int | None = None) -> float:
    """CPU seconds of a process, or of one of its threads (the main thread: tid = pid)."""
    path = f"/proc/{pid}/task/{tid}/stat" if tid else f"/proc/{pid}/stat"
    try:
        fields = Path(path).read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLK  # utime, stime


def pids_named(name: str) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if Path(f"/proc/{entry}/comm").read_text().strip() == name:
                    found.append(int(entry))
            except OSError:
                pass
    return found


def machine_jiffies() -> tuple[int, int]:
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


def postgres_cpu() -> tuple[dict[int, float], float]:
    """CPU seconds of every live PostgreSQL process, and what the postmaster has reaped.

    With CONN_MAX_AGE=0 a backend lives for one call; when it exits its CPU time moves to
    the postmaster's cutime/cstime, so the two together account for all of PostgreSQL.
    """
    live, reaped = {}, 0.0
    for pid in pids_named("postgres"):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        live[pid] = (int(fields[11]) + int(fields[12])) / CLK
        if Path(f"/proc/{fields[1]}/comm").exists() and fields[1] not in ("0",):
            try:
                parent = Path(f"/proc/{fields[1]}/comm").read_text().strip()
            except OSError:
                parent = ""
            if parent != "postgres":  # the postmaster
                reaped = (int(fields[13]) + int(fields[14])) / CLK
    return live, reaped


class CpuMeter:
    """CPU seconds of the server, PostgreSQL, Redis, this client and the machine over a window."""

    def __init__(self, server_pid: int):
        self.server_pid = server_pid
        self.redis_pids = pids_named("redis-server")

    def snapshot(self) -> dict:
        busy, total = machine_jiffies()
        live, reaped = postgres_cpu()
        loop = cpu_seconds(self.server_pid, self.server_pid)
        return {
            "t": time.monotonic(),
            "server": cpu_seconds(self.server_pid),
            "server_loop": loop,
            "redis": sum(cpu_seconds(p) for p in self.redis_pids),
            "client": sum(os.times()[:2]),
            "pg_live": live,
            "pg_reaped": reaped,
            "machine_busy": busy / CLK,
            "machine_total": total / CLK,
            "load1": os.getloadavg()[0],
        }

    @staticmethod
    def diff(a: dict, b: dict) -> dict:
        wall = b["t"] - a["t"]
        cores = (b["machine_total"] - a["machine_total"]) / wall if wall else 0
        out = {"wall_s": round(wall, 2), "cores": round(cores, 2)}
        seconds = {key: b[key] - a[key] for key in ("server", "redis", "client")}
        seconds["postgres"] = (
            sum(v - a["pg_live"].get(p, 0.0) for p, v in b["pg_live"].items())
            + b["pg_reaped"]
            - a["pg_reaped"]
            - sum(v for p, v in a["pg_live"].items() if p not in b["pg_live"])
        )
        for key, value in seconds.items():
            out[f"{key}_cpu_pct"] = round(100 * value / wall, 1)
        # The server's main thread runs the event loop; its other threads run sync code.
        loop = b["server_loop"] - a["server_loop"]
        out["server_loop_cpu_pct"] = round(100 * loop / wall, 1)
        busy = 100 * (b["machine_busy"] - a["machine_busy"]) / wall
        out["machine_busy_pct"] = round(busy, 1)  # of one core; 200 = both cores busy
        out["other_cpu_pct"] = round(busy - 100 * sum(seconds.values()) / wall, 1)
        out["cpu_s"] = {k: round(v, 3) for k, v in seconds.items()}
        out["cpu_s"]["server_loop"] = round(loop, 3)
        out["cpu_s"]["server_threads"] = round(seconds["server"] - loop, 3)
        out["load1"] = [round(a["load1"], 2), round(b["load1"], 2)]
        return out


def pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def summary_ms(values: list[float]) -> dict:
    """p50/p95/p99/max in ms; a value of inf (never arrived) counts as slower than any."""
    ms = [v * 1000 for v in values]
    if not ms:
        return {"n": 0}

    def show(v: float | None) -> float | None:
        return None if v is None or v == float("inf") else round(v, 2)

    finite = [v for v in ms if v != float("inf")]
    return {
        "n": len(ms),
        "missing": len(ms) - len(finite),
        "p50": show(pct(ms, 50)),
        "p95": show(pct(ms, 95)),
        "p99": show(pct(ms, 99)),
        "max": show(max(ms)),
        "mean_arrived": round(statistics.fmean(finite), 2) if finite else None,
    }


# --- sockets ------------------------------------------------------------------------------


def widget_options(origin: str, deflate: bool) -> dict:
    # A browser offers "permessage-deflate; client_max_window_bits" and nothing more.
    extensions = [ClientPerMessageDeflateFactory(client_max_window_bits=True)] if deflate else None
    return {
        "origin": origin,
        "extensions": extensions,
        "compression": None,
        "ping_interval": None,  # browsers do not ping; the server pings every 20 s
        "proxy": None,
        "open_timeout": 120,
        "close_timeout": 30,
        "max_queue": None,
    }


async def open_widget(url: str, options: dict) -> tuple[object, dict, float]:
    started = time.monotonic()
    ws = await connect(url, **options)
    frame = json.loads(await ws.recv())
    if frame.get("type") != "session":
        raise RuntimeError(f"expected a session frame, got {frame}")
    return ws, frame, time.monotonic() - started


def redis_state(client: redis.Redis) -> dict:
    info = client.info()
    return {
        "layer_channels": len(client.pubsub_channels("asgi*")),
        "connected_clients": info["connected_clients"],
        "used_memory_kib": info["used_memory"] // 1024,
    }


# --- connections ---------------------------------------------------------------------------


async def run_connections(args, setup: dict) -> dict:
    url = f"ws://127.0.0.1:{args.port}/ws/widget/{setup['inbox_key']}/"
    options = widget_options(setup["origin"], args.deflate)
    rds = redis.Redis.from_url(args.redis_url)
    meter = CpuMeter(args.server_pid)
    pid = args.server_pid

    # Warm up every code path once (imports, the first database connection, the layer).
    warm = [await open_widget(url, options) for _ in range(20)]
    await asyncio.gather(*(ws.close() for ws, _, _ in warm))
    await asyncio.sleep(3)
    base = {"rss_kib": rss_kib(pid), "redis": redis_state(rds)}
    print(f"bench: widget: baseline RSS {base['rss_kib']} KiB, {base['redis']}", flush=True)

    sockets: list = []
    steps = []
    gate = asyncio.Semaphore(args.concurrency)

    async def one() -> float:
        async with gate:
            ws, _, took = await open_widget(url, options)
        sockets.append(ws)
        return took

    for target in args.steps:
        need = target - len(sockets)
        before = meter.snapshot()
        started = time.monotonic()
        results = await asyncio.gather(*(one() for _ in range(need)), return_exceptions=True)
        opened_in = time.monotonic() - started
        opening_cpu = CpuMeter.diff(before, meter.snapshot())
        took = [r for r in results if isinstance(r, float)]
        errors = [repr(r)[:200] for r in results if not isinstance(r, float)]
        await asyncio.sleep(args.settle)
        idle_before = meter.snapshot()
        await asyncio.sleep(args.idle)
        idle_cpu = CpuMeter.diff(idle_before, meter.snapshot())
        rss = rss_kib(pid)
        step = {
            "target": target,
            "open": len(sockets),
            "errors": len(errors),
            "error_samples": sorted(set(errors))[:5],
            "opened_in_s": round(opened_in, 2),
            "opened_per_s": round(len(took) / opened_in, 1) if opened_in else None,
            "handshake_ms": summary_ms(took),
            "opening_cpu": opening_cpu,
            "rss_kib": rss,
            "kib_per_connection": round((rss - base["rss_kib"]) / len(sockets), 1),
            "idle_cpu": idle_cpu,
            "redis": redis_state(rds),
        }
        steps.append(step)
        print(
            f"bench: widget: {len(sockets)} open ({len(errors)} errors) in {opened_in:.1f} s, "
            f"RSS {rss} KiB = {step['kib_per_connection']} KiB each, idle server CPU "
            f"{idle_cpu['server_cpu_pct']} %",
            flush=True,
        )
        if errors:
            break

    # Everyone leaves at once (a deploy, a network blip): close every socket together.
    held = len(sockets)
    layer_before = redis_state(rds)["layer_channels"]
    before = meter.snapshot()
    started = time.monotonic()
    results = await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)
    closed_in = time.monotonic() - started
    close_errors = [repr(r)[:200] for r in results if isinstance(r, BaseException)]
    codes: dict[str, int] = {}
    for ws in sockets:
        key = str(ws.close_code)
        codes[key] = codes.get(key, 0) + 1
    sockets.clear()
    released_in = None
    waited_from = time.monotonic()
    left = layer_before
    while time.monotonic() - waited_from < args.release_timeout:
        left = redis_state(rds)["layer_channels"]
        if left <= base["redis"]["layer_channels"]:
            released_in = time.monotonic() - started
            break
        await asyncio.sleep(0.1)
    close_cpu = CpuMeter.diff(before, meter.snapshot())
    await asyncio.sleep(args.settle)
    after_rss = rss_kib(pid)

    # The server still works: a new visitor connects, sends a message and gets its ack.
    ws, _, took = await open_widget(url, options)
    await ws.send(json.dumps({"type": "message", "body": "still there?", "client_id": "after"}))
    reply = json.loads(await asyncio.wait_for(ws.recv(), 30))
    await ws.close()

    return {
        "deflate": args.deflate,
        "concurrency": args.concurrency,
        "baseline": base,
        "steps": steps,
        "held": held,
        "mass_close": {
            "closed": held,
            "closed_in_s": round(closed_in, 2),
            "close_errors": len(close_errors),
            "close_error_samples": sorted(set(close_errors))[:5],
            "close_codes": codes,
            "layer_channels_before": layer_before,
            "layer_channels_left": left,
            "layer_channels_baseline": base["redis"]["layer_channels"],
            "released_in_s": round(released_in, 2) if released_in is not None else None,
            "cpu": close_cpu,
            "rss_kib_after": after_rss,
            "redis_after": redis_state(rds),
            "probe": {"frame": reply.get("type"), "handshake_ms": round(took * 1000, 1)},
        },
    }


# --- latency --------------------------------------------------------------------------------


BODIES = [
    "Hi, my order has not arrived yet, can you check where it is?",
    "Dzień dobry, mam pytanie o fakturę za ostatnie zamówienie.",
    "Dobrý den, nemohu se přihlásit do svého účtu.",
    "The discount code from your newsletter does not work at checkout.",
    "Can I change the delivery address of an order I placed an hour ago?",
    "Thanks, that helped. One more thing about the warranty.",
]


class Agent:
    def __init__(self, index: int, ws):
        self.index = index
        self.ws = ws
        self.logging = False
        self.notices: dict[int, list[float]] = {}
        self.watching: set[int] = set()
        self.watched = asyncio.Event()
        self.want = 0
        self.other = 0

    async def reader(self) -> None:
        async for text in self.ws:
            now = time.monotonic()
            frame = json.loads(text)
            kind = frame.get("type")
            if kind == "notice" and frame.get("kind") == "message":
                if self.logging:
                    self.notices.setdefault(frame["ticket"], []).append(now)
            elif kind == "watching":
                self.watching.add(frame["ticket"])
                if len(self.watching) >= self.want:
                    self.watched.set()
            elif kind == "error":
                raise RuntimeError(f"agent {self.index}: {frame}")
            else:
                self.other += 1


class Visitor:
    def __init__(self, index: int, ws, records: dict):
        self.index = index
        self.ws = ws
        self.records = records  # client_id -> record, shared
        self.ticket: int | None = None
        self.sent: list[str] = []  # client ids after logging started, in order
        self.errors: list[dict] = []
        self.acked = asyncio.Event()
        self.last_ack: dict = {}
        self.closed: str | None = None  # why the server closed it, if it did

    async def reader(self) -> None:
        try:
            await self._read()
        except ConnectionClosed as exc:
            self.closed = (
                f"{exc.rcvd.code if exc.rcvd else exc.sent.code if exc.sent else '?'} "
                f"{exc.rcvd.reason if exc.rcvd else exc.sent.reason if exc.sent else ''}".strip()
            )
        self.acked.set()

    async def _read(self) -> None:
        async for text in self.ws:
            now = time.monotonic()
            frame = json.loads(text)
            kind = frame.get("type")
            if kind == "ack":
                record = self.records.get(frame["client_id"])
                if record is not None:
                    record["ack"] = now
                    record["message_id"] = frame["id"]
                self.last_ack = frame
                self.acked.set()
            elif kind == "error":
                self.errors.append(frame)
                self.acked.set()

    async def send(self, client_id: str, body: str, measured: bool, scheduled: float) -> None:
        if self.closed is not None:
            return  # the server closed this socket: its later messages are not sent
        record = {"conv": self.index, "measured": measured, "scheduled": scheduled}
        self.records[client_id] = record
        self.sent.append(client_id)
        record["send"] = time.monotonic()
        try:
            await self.ws.send(
                json.dumps({"type": "message", "body": body, "client_id": client_id})
            )
        except ConnectionClosed:
            pass  # the reader records why


async def run_latency(args, setup: dict) -> dict:  # noqa: C901 - one linear scenario
    key, origin = setup["inbox_key"], setup["origin"]
    agents_setup = setup["agents"][: args.agents]
    meter = CpuMeter(args.server_pid)
    records: dict[str, dict] = {}
    rng = random.Random(args.seed)
    tasks = []

    # Agents first: each socket joins the inbox group (and its user's and team's).
    agents = []
    for n, agent in enumerate(agents_setup):
        ws = await connect(
            f"ws://127.0.0.1:{args.port}/ws/agent/",
            origin=f"http://127.0.0.1:{args.port}",
            additional_headers={"Cookie": f"sessionid={agent['sessionid']}"},
            proxy=None,
            ping_interval=None,
            max_queue=None,
        )
        agents.append(Agent(n, ws))
    tasks += [asyncio.create_task(a.reader()) for a in agents]

    # Visitors, each with a first message so its ticket exists.
    options = widget_options(origin, args.deflate)
    url = f"ws://127.0.0.1:{args.port}/ws/widget/{key}/"
    visitors = []
    for n in range(args.conversations):
        ws, _, _ = await open_widget(url, options)
        visitors.append(Visitor(n, ws, records))
    tasks += [asyncio.create_task(v.reader()) for v in visitors]
    first_ids = {}
    for v in visitors:
        v.acked.clear()
        await v.ws.send(
            json.dumps({"type": "message", "body": "Hello!", "client_id": f"first-{v.index}"})
        )
        await asyncio.wait_for(v.acked.wait(), 60)
        if v.errors:
            raise RuntimeError(f"visitor {v.index}: {v.errors[-1]}")
        first_ids[v.last_ack["id"]] = v
    conn = psycopg2.connect(args.database_url.replace("postgres://", "postgresql://", 1))
    with conn.cursor() as cursor:
        cursor.execute(
            "SELECT id, ticket_id FROM tickets_message WHERE id = ANY(%s)", [list(first_ids)]
        )
        for message_id, ticket_id in cursor.fetchall():
            first_ids[message_id].ticket = ticket_id
    conn.close()
    tickets = {v.ticket for v in visitors}
    if len(tickets) != len(visitors) or None in tickets:
        raise RuntimeError("each conversation should have a ticket of its own")

    # Each agent watches its share (an open ticket page; at most 20 a socket).
    per_agent = -(-len(visitors) // len(agents))
    watcher = {}
    for a in agents:
        mine = visitors[a.index * per_agent : (a.index + 1) * per_agent]
        a.want = len(mine)
        if not mine:
            a.watched.set()
        for v in mine:
            watcher[v.index] = a
            await a.ws.send(json.dumps({"type": "watch", "ticket": v.ticket}))
    await asyncio.wait_for(asyncio.gather(*(a.watched.wait() for a in agents)), 60)
    await asyncio.sleep(2)  # nothing in flight from here on: start logging
    for a in agents:
        a.logging = True

    total = int(args.rate * (args.warmup + args.duration))
    warm_count = int(args.rate * args.warmup)
    lags = []
    before = None
    hook = None
    started = time.monotonic() + 0.5
    for j in range(total):
        if j == warm_count:
            before = meter.snapshot()
            if args.start_hook:
                hook = subprocess.Popen(
                    args.start_hook,
                    shell=True,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
        scheduled = started + j / args.rate
        delay = scheduled - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        lags.append(time.monotonic() - scheduled)
        v = visitors[j % len(visitors)]
        await v.send(f"m{j}-c{v.index}", rng.choice(BODIES), j >= warm_count, scheduled)
    sent_at_end = time.monotonic()
    window_cpu = CpuMeter.diff(before, meter.snapshot())

    # Let the last ones arrive: every ack, and every notice at every agent.
    def complete() -> bool:
        if any("ack" not in r for r in records.values() if r.get("send")):
            return False
        for v in visitors:
            for a in agents:
                if len(a.notices.get(v.ticket, [])) < len(v.sent):
                    return False
        return True

    waited = time.monotonic()
    while not complete() and time.monotonic() - waited < args.drain:
        await asyncio.sleep(0.2)
    await asyncio.sleep(1)
    drained_in = time.monotonic() - waited

    # Match the k-th notice of a ticket at a socket to the k-th message sent to it. A ticket
    # with fewer notices than messages (the server had not caught up by the end of the drain)
    # matches its first ones; the rest count as never arrived.
    inf = float("inf")
    watcher_lat, all_lat, ack_lat = [], [], []
    incomplete = {"watcher": 0, "any_agent": 0, "extra": 0}
    per_slice: dict[int, list[float]] = {}
    for v in visitors:
        at_watcher = watcher[v.index].notices.get(v.ticket, [])
        lists = [a.notices.get(v.ticket, []) for a in agents]
        if len(at_watcher) < len(v.sent):
            incomplete["watcher"] += 1
        if any(len(n) < len(v.sent) for n in lists):
            incomplete["any_agent"] += 1
        if any(len(n) > len(v.sent) for n in lists):
            incomplete["extra"] += 1  # a notice no message explains: the matching is off
        for k, client_id in enumerate(v.sent):
            record = records[client_id]
            if k < len(at_watcher):
                record["notice"] = at_watcher[k]
            if all(k < len(n) for n in lists):
                record["all_agents"] = max(n[k] for n in lists)
            if not record["measured"]:
                continue
            ack_lat.append(record["ack"] - record["send"] if "ack" in record else inf)
            latency = record["notice"] - record["send"] if "notice" in record else inf
            watcher_lat.append(latency)
            second = int(record["scheduled"] - started - args.warmup) // args.slice
            per_slice.setdefault(second * args.slice, []).append(latency)
            all_lat.append(record["all_agents"] - record["send"] if "all_agents" in record else inf)

    measured = [r for r in records.values() if r.get("measured")]
    sends = sorted(r["send"] for r in measured)
    window = (sends[0], sends[-1]) if sends else (0, 0)
    noticed_in_window = sum(
        1 for r in records.values() if window[0] <= r.get("notice", -1) <= window[1]
    )
    acked_in_window = sum(1 for r in records.values() if window[0] <= r.get("ack", -1) <= window[1])
    errors: dict[str, int] = {}
    for v in visitors:
        for e in v.errors:
            errors[e.get("code", "?")] = errors.get(e.get("code", "?"), 0) + 1

    if args.records:
        with open(args.records, "w") as out:
            for client_id, r in records.items():
                out.write(json.dumps({"client_id": client_id, **r}) + "\n")

    if hook is not None:
        hook.wait(timeout=args.duration + 60)
    for t in tasks:
        t.cancel()
    await asyncio.gather(
        *(v.ws.close() for v in visitors),
        *(a.ws.close() for a in agents),
        return_exceptions=True,
    )
    span = sends[-1] - sends[0] if len(sends) > 1 else 0
    closed: dict[str, int] = {}
    for v in visitors:
        if v.closed is not None:
            closed[v.closed] = closed.get(v.closed, 0) + 1
    return {
        "conversations": len(visitors),
        "agents": len(agents),
        "watched_per_agent": per_agent,
        "rate_target": args.rate,
        "duration_s": args.duration,
        "warmup_s": args.warmup,
        "deflate": args.deflate,
        "messages_measured": len(measured),
        "sent_per_s": round((len(sends) - 1) / span, 1) if span else None,
        "noticed_per_s_in_window": round(noticed_in_window / span, 1) if span else None,
        "visitors_closed_by_server": closed,
        "messages_not_sent": total - sum(1 for r in records.values() if "send" in r),
        "send_lag_ms": summary_ms([max(0.0, x) for x in lags[warm_count:]]),
        "ack": summary_ms(ack_lat),
        "watcher": summary_ms(watcher_lat),
        "all_agents": summary_ms(all_lat),
        "acked_per_s_in_window": round(acked_in_window / (window[1] - window[0]), 1)
        if window[1] > window[0]
        else None,
        "by_slice": {str(k): summary_ms(v) for k, v in sorted(per_slice.items())},
        "slice_s": args.slice,
        "incomplete_tickets": incomplete,
        "errors": errors,
        "unacked": sum(1 for r in measured if "ack" not in r),
        "drained_in_s": round(drained_in, 2),
        "send_window_s": round(sent_at_end - started, 2),
        "cpu": window_cpu,
        "server_rss_kib": rss_kib(args.server_pid),
        "cpu_ms_per_message": {
            k: round(1000 * v / acked_in_window, 2) for k, v in window_cpu["cpu_s"].items()
        }
        if acked_in_window
        else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("mode", choices=["connections", "latency"])
    parser.add_argument("--setup", type=Path, required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--server-pid", type=int, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument(
        "--redis-url", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    )
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", ""))
    parser.add_argument(
        "--no-deflate",
        dest="deflate",
        action="store_false",
        help="offer no permessage-deflate (browsers do offer it)",
    )
    # connections
    parser.add_argument("--steps", default="2000,3000,4000,5000")
    parser.add_argument("--concurrency", type=int, default=50, help="handshakes in flight")
    parser.add_argument("--settle", type=float, default=5)
    parser.add_argument("--idle", type=float, default=10, help="seconds of idle CPU measured")
    parser.add_argument("--release-timeout", type=float, default=120)
    # latency
    parser.add_argument("--conversations", type=int, default=200)
    parser.add_argument("--agents", type=int, default=10)
    parser.add_argument("--rate", type=float, default=200)
    parser.add_argument("--duration", type=float, default=45)
    parser.add_argument("--warmup", type=float, default=5)
    parser.add_argument("--drain", type=float, default=60)
    parser.add_argument("--slice", type=int, default=5)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--start-hook", help="a shell command started when measuring starts")
    parser.add_argument("--records", help="write every message's times here (JSON lines)")
    args = parser.parse_args()
    args.steps = [int(s) for s in args.steps.split(",") if s]
    setup = json.loads(args.setup.read_text())
    uvloop.install()
    runner = run_connections if args.mode == "connections" else run_latency
    result = asyncio.run(runner(args, setup))
    result["mode"] = args.mode
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
