"""Webhook throughput: signed `POST /inbound/sms|messenger/<key>/`, 8 in flight, on PostgreSQL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/helpdesk_bench_webhooks REDIS_URL=redis://... \
    .venv/bin/python bench/webhooks/bench.py --work var/bench-webhooks --out bench/out/webhooks.json

bench/webhooks/run.sh calls it after setting the database up (migrated, load data, inboxes:
bench/webhooks/setup.py). What it does:

1. Copies that database to a template ("<name>_tpl"); every server run starts from a copy.
2. For each round, channel and server configuration (the order alternates by round): recreates
   the database from the template, starts uvicorn (`helpdesk.asgi:application`, DEBUG=0,
   REDIS_URL set, PUBLIC_BASE_URL = the address it serves on; its access log on, as in the
   Dockerfile), and runs bench/webhooks/load.py in its own process: 8 in flight, a warm-up,
   a few seconds one at a time (latency without queueing), then the measured seconds, then a
   replay of already-answered requests. CPU of the server, PostgreSQL (with the backends that
   exited meanwhile), Redis, the client and the whole machine is read from /proc at the edges
   of the measured part. Then the server stops and the database is checked: one stored
   Message per 2xx answer (its provider id one of those answered), every raw payload
   processed, nothing stored for a refused request, nothing added by the replays.
3. Diagnosis runs (not the timed figures): the same load against bench/webhooks/timed_asgi.py
   (timers around the view's steps, one line per request), and a py-spy profile of a 1-worker
   server.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import time
from collections import Counter
from contextlib import contextmanager
from datetime import UTC, datetime
from http.client import HTTPConnection
from pathlib import Path

import environ
import psycopg2
from psycopg2 import sql as pgsql

ROOT = Path(__file__).resolve().parents[2]
PY = ROOT / ".venv" / "bin" / "python"
UVICORN = ROOT / ".venv" / "bin" / "uvicorn"
PYSPY = ROOT / "var" / "bench-tools" / "bin" / "py-spy"
CLK_TCK = os.sysconf("SC_CLK_TCK")

# Server configurations: uvicorn processes and the database connection setting.
CONFIGS = {
    "1w": {"workers": 1, "env": {}, "label": "1 process, `CONN_MAX_AGE=0` (as configured)"},
    "1w-persistent": {
        "workers": 1,
        "env": {"CONN_MAX_AGE": "60"},
        "label": "1 process, `CONN_MAX_AGE=60`",
    },
    "2w": {
        "workers": 2,
        "env": {},
        "label": "2 processes (`--workers 2`, the Dockerfile's), `CONN_MAX_AGE=0`",
    },
    "2w-persistent": {
        "workers": 2,
        "env": {"CONN_MAX_AGE": "60"},
        "label": "2 processes, `CONN_MAX_AGE=60`",
    },
    # A diagnosis, not the product as it stands: Django's own pool (psycopg 3), see
    # bench/webhooks/settings_pooled.py.
    "1w-pooled": {
        "workers": 1,
        "env": {"DJANGO_SETTINGS_MODULE": "settings_pooled"},
        "pythonpath": [ROOT / "bench" / "webhooks", ROOT / "var" / "bench-webhooks" / "pool-libs"],
        "label": "1 process, psycopg 3 pool (diagnosis)",
    },
    "2w-pooled": {
        "workers": 2,
        "env": {"DJANGO_SETTINGS_MODULE": "settings_pooled"},
        "pythonpath": [ROOT / "bench" / "webhooks", ROOT / "var" / "bench-webhooks" / "pool-libs"],
        "label": "2 processes, psycopg 3 pool (diagnosis)",
    },
}


def log(text: str) -> None:
    print(f"bench: webhooks: {text}", flush=True)


# --- databases --------------------------------------------------------------------------------


def db_config() -> dict:
    return environ.Env.db_url_config(os.environ["DATABASE_URL"])


def connect(dbname: str = "postgres"):
    db = db_config()
    conn = psycopg2.connect(
        dbname=dbname,
        user=db.get("USER") or None,
        password=db.get("PASSWORD") or None,
        host=db.get("HOST") or None,
        port=db.get("PORT") or None,
    )
    conn.autocommit = True
    return conn


def copy_database(target: str, template: str) -> float:
    started = time.monotonic()
    conn = connect()
    with conn.cursor() as cursor:
        cursor.execute(
            pgsql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(pgsql.Identifier(target))
        )
        cursor.execute(
            pgsql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                pgsql.Identifier(target), pgsql.Identifier(template)
            )
        )
    conn.close()
    return time.monotonic() - started


def make_template() -> None:
    name = db_config()["NAME"]
    conn = connect(name)
    with conn.cursor() as cursor:
        # Fresh statistics and a clean visibility map for every copy.
        cursor.execute("VACUUM ANALYZE")
    conn.close()
    copy_database(f"{name}_tpl", name)


def reset_database() -> float:
    name = db_config()["NAME"]
    return copy_database(name, f"{name}_tpl")


def database_facts() -> dict:
    conn = connect(db_config()["NAME"])
    facts = {}
    with conn.cursor() as cursor:
        for table in ("tickets_ticket", "tickets_customer", "tickets_message"):
            cursor.execute(pgsql.SQL("SELECT count(*) FROM {}").format(pgsql.Identifier(table)))
            facts[table] = cursor.fetchone()[0]
        cursor.execute("SELECT pg_database_size(current_database())")
        facts["bytes"] = cursor.fetchone()[0]
        cursor.execute("SELECT version()")
        facts["postgresql"] = cursor.fetchone()[0].split(" on ")[0]
        for name in ("max_connections", "synchronous_commit", "shared_buffers"):
            cursor.execute(f"SHOW {name}")
            facts[name] = cursor.fetchone()[0]
    conn.close()
    return facts


def verify(inbox_id: int, ok_keys: set[str], refused_keys: set[str]) -> dict:
    """The database after a run: one Message per 2xx answer, nothing for refused requests."""
    conn = connect(db_config()["NAME"])
    with conn.cursor() as cursor:
        cursor.execute(
            "SELECT external_id FROM tickets_message WHERE inbox_id = %s AND direction = 'in'",
            [inbox_id],
        )
        stored = [row[0] for row in cursor.fetchall()]
        cursor.execute(
            "SELECT state, count(*) FROM channels_in_rawinbound WHERE inbox_id = %s GROUP BY 1",
            [inbox_id],
        )
        raw = dict(cursor.fetchall())
        cursor.execute(
            "SELECT count(*), count(DISTINCT customer_id) FROM tickets_ticket WHERE inbox_id = %s",
            [inbox_id],
        )
        tickets, customers = cursor.fetchone()
        cursor.execute(
            "SELECT error FROM channels_in_rawinbound WHERE inbox_id = %s AND state <> 'processed'"
            " LIMIT 3",
            [inbox_id],
        )
        raw_errors = [row[0][:300] for row in cursor.fetchall()]
    conn.close()
    stored_set = set(stored)
    result = {
        "answered_2xx": len(ok_keys),
        "messages_stored": len(stored),
        "distinct_stored": len(stored_set),
        "stored_and_answered": len(stored_set & ok_keys),
        "stored_but_refused": len(stored_set & refused_keys),
        "stored_unknown": len(stored_set - ok_keys - refused_keys),
        "raw_inbound": raw,
        "raw_errors": raw_errors,
        "tickets": tickets,
        "customers_with_tickets": customers,
    }
    result["ok"] = (
        len(stored) == len(stored_set) == len(ok_keys) == result["stored_and_answered"]
        and set(raw) <= {"processed"}
        and raw.get("processed", 0) == len(ok_keys)
    )
    return result


# --- CPU accounting ---------------------------------------------------------------------------


def _stat(pid: int) -> list[str] | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None


def _proc_cpu(pid: int, *, children: bool = False) -> float:
    fields = _stat(pid)
    if fields is None:
        return 0.0
    ticks = int(fields[11]) + int(fields[12])
    if children:
        ticks += int(fields[13]) + int(fields[14])
    return ticks / CLK_TCK


def _processes() -> dict[int, tuple[str, int]]:
    found = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                comm = (entry / "comm").read_text().strip()
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            found[int(entry.name)] = (comm, ppid)
    return found


def children_of(pid: int) -> list[int]:
    return [p for p, (_, ppid) in _processes().items() if ppid == pid]


def cpu_snapshot(server_pids: list[int]) -> dict:
    procs = _processes()
    postgres = [p for p, (comm, _) in procs.items() if comm == "postgres"]
    postmaster = [p for p in postgres if procs[p][1] not in postgres]
    # The postmaster's reaped-children time holds the backends that exited (one per request
    # with CONN_MAX_AGE=0); the live ones are counted directly.
    pg = sum(_proc_cpu(p) for p in postgres) + sum(
        _proc_cpu(p, children=True) - _proc_cpu(p) for p in postmaster
    )
    parts = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = parts[3] + parts[4]
    return {
        "server": sum(_proc_cpu(p) for p in server_pids),
        "postgres": pg,
        "redis": sum(_proc_cpu(p) for p, (comm, _) in procs.items() if comm == "redis-server"),
        "busy": (sum(parts) - idle) / CLK_TCK,
        "total": sum(parts) / CLK_TCK,
        "time": time.monotonic(),
        "load": os.getloadavg()[0],
    }


def cpu_delta(before: dict, after: dict, *, requests: int, client_cpu: float) -> dict:
    seconds = after["time"] - before["time"]
    used = {k: after[k] - before[k] for k in ("server", "postgres", "redis")}
    used["client"] = client_cpu
    busy = after["busy"] - before["busy"]
    used["other"] = max(0.0, busy - sum(used.values()))
    return {
        "ms_per_request": {k: round(v * 1000 / max(requests, 1), 3) for k, v in used.items()},
        # Of one core: 100 = one core busy all the time.
        "pct_of_one_core": {k: round(v * 100 / seconds, 1) for k, v in used.items()},
        "machine_busy": round(busy / max(after["total"] - before["total"], 1e-9), 3),
        "load_before": round(before["load"], 2),
        "load_after": round(after["load"], 2),
    }


# --- the server -------------------------------------------------------------------------------


def port_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


@contextmanager
def server(workers: int, port: int, env_extra: dict, log_path: Path, *, app: str, pythonpath=""):
    if not port_free(port):
        raise RuntimeError(f"port {port} is taken")
    env = {
        **os.environ,
        "DEBUG": "0",
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        **env_extra,
    }
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    command = [str(UVICORN), app, "--host", "127.0.0.1", "--port", str(port)]
    if workers > 1:
        command += ["--workers", str(workers)]
    log_file = log_path.open("ab")
    proc = subprocess.Popen(  # noqa: S603 - our own server
        command,
        cwd=ROOT,
        env=env,
        stdout=log_file,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 90
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"the server exited ({proc.returncode}); see {log_path}")
            try:
                conn = HTTPConnection("127.0.0.1", port, timeout=5)
                conn.request("GET", "/healthz")
                conn.getresponse().read()
                conn.close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        pids = [proc.pid]
        if workers > 1:
            while len(children_of(proc.pid)) < workers and time.monotonic() < deadline:
                time.sleep(0.2)
            # Every worker up and answering (uvicorn starts them one after the other).
            time.sleep(2.0)
            pids += children_of(proc.pid)
        yield pids
    finally:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        except ProcessLookupError:
            pass
        log_file.close()


def run_client(
    payloads: Path,
    port: int,
    out: Path,
    *,
    seconds: float,
    warmup: float,
    sequential: float,
    replay: int,
    concurrency: int,
    server_pids: list[int],
    on_start=None,
) -> tuple[dict, dict]:
    command = [
        str(PY),
        str(ROOT / "bench" / "webhooks" / "load.py"),
        "--payloads",
        str(payloads),
        "--port",
        str(port),
        "--concurrency",
        str(concurrency),
        "--warmup",
        str(warmup),
        "--sequential",
        str(sequential),
        "--seconds",
        str(seconds),
        "--replay",
        str(replay),
        "--hook",
        "--out",
        str(out),
    ]
    proc = subprocess.Popen(  # noqa: S603
        command,
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    before = after = None
    extra = None
    for line in proc.stdout:
        if line.strip() == "MEASURE_START":
            if on_start is not None:
                extra = on_start()
            before = cpu_snapshot(server_pids)
            proc.stdin.write("\n")
            proc.stdin.flush()
        elif line.strip() == "MEASURE_END":
            after = cpu_snapshot(server_pids)
            proc.stdin.write("\n")
            proc.stdin.flush()
    if proc.wait() != 0:
        raise RuntimeError("the load client failed")
    result = json.loads(out.read_text())
    cpu = cpu_delta(
        before,
        after,
        requests=result["measured"]["requests"],
        client_cpu=result["measured"]["client_cpu_s"],
    )
    return result, {"cpu": cpu, "extra": extra}


def reset_redis() -> None:
    """Empty the bench's own Redis database before a run, as the PostgreSQL one is reset:
    the cache (rate-limit counters), queued tasks. Never database 0, which others share."""
    import redis

    client = redis.from_url(os.environ["REDIS_URL"])
    index = client.connection_pool.connection_kwargs.get("db", 0)
    if not index:
        raise SystemExit(
            "bench: webhooks needs a Redis database of its own (WEBHOOKS_REDIS_URL=redis://…/9), "
            "not 0: it empties it before every run"
        )
    client.flushdb()
    client.close()


def stuck_counters() -> dict:
    """Rate-limit counters (channels_in.limits.admit) left without an expiry: they never reset."""
    import redis

    client = redis.from_url(os.environ["REDIS_URL"])
    total = stuck = 0
    worst = []
    for key in client.scan_iter(match="*inbound.rate.*"):
        total += 1
        if client.ttl(key) == -1:
            stuck += 1
            worst.append((key.decode(errors="replace"), int(client.get(key) or 0)))
    client.close()
    return {"counters": total, "without_expiry": stuck, "samples": sorted(worst)[:5]}


def drain_task_queue() -> int:
    """Delete the Celery tasks the run queued (no worker runs in this bench); return how many."""
    import redis

    client = redis.from_url(os.environ["REDIS_URL"])
    queued = 0
    for key in client.scan_iter(match="celery*"):
        if client.type(key) == b"list":
            queued += client.llen(key)
            client.delete(key)
    client.close()
    return queued


def server_log_summary(log_path: Path, offset: int) -> dict:
    with log_path.open("rb") as f:
        f.seek(offset)
        text = f.read().decode(errors="replace")
    lines = text.splitlines()
    return {
        "tracebacks": text.count("Traceback (most recent call last)"),
        "too_many_clients": text.count("too many clients already"),
        "error_lines": sum(1 for line in lines if "ERROR" in line),
        "warning_lines": sum(1 for line in lines if "WARNING" in line),
        "samples": sorted(
            {
                line.strip()[:200]
                for line in lines
                if "Error" in line or "ERROR" in line or "refused" in line
            }
        )[:6],
    }


# --- one run ----------------------------------------------------------------------------------


def one_run(
    channel: str,
    config: str,
    *,
    args,
    inboxes: dict,
    payload_meta: dict,
    app: str = "helpdesk.asgi:application",
    pythonpath: str = "",
    env_extra: dict | None = None,
    label: str = "",
    profile: Path | None = None,
) -> dict:
    spec = CONFIGS[config]
    reset_seconds = reset_database()
    reset_redis()
    log_path = args.work / "server.log"
    offset = log_path.stat().st_size if log_path.exists() else 0
    payloads = args.work / f"{channel}.pickle"
    out = args.work / f"client-{channel}-{config}{label}.json"
    spy = None

    def start_profile():
        nonlocal spy
        if profile is None:
            return None
        profile.unlink(missing_ok=True)
        spy = subprocess.Popen(  # noqa: S603
            # --gil: only the thread holding the GIL is sampled, i.e. where the process's
            # Python CPU goes (threads waiting for PostgreSQL, Redis or a lock are not).
            [
                str(PYSPY),
                "record",
                "--pid",
                str(pids[-1]),
                "--format",
                "raw",
                "--threads",
                "--gil",
                "--nonblocking",
                "--rate",
                "100",
                "--duration",
                str(int(args.seconds)),
                "--output",
                str(profile),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(0.5)
        return None

    paths = [str(p) for p in spec.get("pythonpath", [])]
    if pythonpath:
        paths.insert(0, pythonpath)
    with server(
        spec["workers"],
        args.port,
        {**spec["env"], **(env_extra or {})},
        log_path,
        app=app,
        pythonpath=":".join(paths),
    ) as pids:
        result, extra = run_client(
            payloads,
            args.port,
            out,
            seconds=args.seconds,
            warmup=args.warmup,
            sequential=args.sequential,
            replay=args.replay,
            concurrency=args.concurrency,
            server_pids=pids,
            on_start=start_profile,
        )
        if spy is not None:
            spy.wait(timeout=args.seconds + 60)
    tasks_queued = drain_task_queue()
    counters = stuck_counters()
    requests = payload_meta[channel]["keys"]
    ok_indices = set()
    all_indices = set()
    for phase in ("warmup", "sequential", "measured"):
        if phase in result:
            ok_indices |= set(result[phase]["ok_indices"])
            all_indices |= set(result[phase]["indices"])
    ok_keys = {requests[i] for i in ok_indices}
    refused_keys = {requests[i] for i in all_indices - ok_indices}
    check = verify(inboxes[channel]["id"], ok_keys, refused_keys)
    replay = result.get("replay") or {}
    if replay.get("requests"):
        check["replay"] = {
            "requests": replay["requests"],
            "statuses": replay["statuses"],
            "flagged_duplicate": replay.get("flagged_duplicate"),
            "p50_ms": replay["p50_ms"],
            "p99_ms": replay["p99_ms"],
            "body_samples": replay.get("body_samples"),
        }
        # A replay stores nothing (the count above already equals the first answers); its
        # answers other than 2xx are errors like any other, counted apart.
        check["replay"]["errors"] = replay["requests"] - replay["ok"]
    measured = result["measured"]
    # The mix of senders in the measured part: first message of a new customer, a
    # returning one from the load data, or a follow-up of a sender seen earlier in the run.
    mix = sender_mix(payload_meta[channel], result)
    for phase in ("warmup", "sequential", "measured", "replay"):
        if phase in result:
            result[phase].pop("indices", None)
            result[phase].pop("ok_indices", None)
    return {
        "channel": channel,
        "config": config,
        "workers": spec["workers"],
        "env": {**spec["env"], **(env_extra or {})},
        "app": app,
        "measured": measured,
        "warmup": result.get("warmup"),
        "sequential": result.get("sequential"),
        "replay": result.get("replay"),
        "cpu": extra["cpu"],
        "check": check,
        "mix": mix,
        "server_log": server_log_summary(log_path, offset),
        "reset_seconds": round(reset_seconds, 2),
        "celery_tasks_queued": tasks_queued,
        "rate_counters": counters,
    }


def sender_mix(meta: dict, result: dict) -> dict:
    seen = set()
    first_index = None
    order = []
    for phase in ("warmup", "sequential", "measured"):
        if phase in result:
            order.append((phase, sorted(result[phase]["indices"])))
    counts = Counter()
    for phase, indices in order:
        for i in indices:
            sender = meta["senders"][i]
            kind = (
                "follow-up in the run"
                if sender in seen
                else "returning (load data)"
                if sender < meta["returning"]
                else "new customer"
            )
            seen.add(sender)
            if phase == "measured":
                counts[kind] += 1
                first_index = i if first_index is None else first_index
    total = sum(counts.values()) or 1
    return {k: round(v / total, 3) for k, v in counts.items()}


# --- main -------------------------------------------------------------------------------------


def summarize(runs: list[dict]) -> dict:
    summary: dict = {}
    for run in runs:
        if run.get("diagnosis"):
            continue
        key = (run["channel"], run["config"])
        summary.setdefault(key, []).append(run)
    out = {}
    for (channel, config), mine in summary.items():
        ranked = sorted(mine, key=lambda r: r["measured"]["requests_per_s"])
        median = ranked[(len(ranked) - 1) // 2]  # the lower median: a pessimistic pick
        m = median["measured"]
        out.setdefault(channel, {})[config] = {
            "requests_per_s": m["requests_per_s"],
            "p50_ms": m["p50_ms"],
            "p95_ms": m["p95_ms"],
            "p99_ms": m["p99_ms"],
            "errors": sum(r["measured"]["errors"] for r in mine),
            "statuses": m["statuses"],
            "rounds_requests_per_s": [r["measured"]["requests_per_s"] for r in mine],
            "rounds_p99_ms": [r["measured"]["p99_ms"] for r in mine],
            "round": median["round"],
            "sequential_p50_ms": (median.get("sequential") or {}).get("p50_ms"),
            "sequential_requests_per_s": (median.get("sequential") or {}).get("requests_per_s"),
            "cpu": median["cpu"],
            "all_checks_ok": all(r["check"]["ok"] for r in mine),
            "check": median["check"],
            "mix": median["mix"],
            "server_log": median["server_log"],
            "all_server_logs": [r["server_log"] for r in mine],
        }
    return out


def checkpoint(work: Path, run: dict) -> None:
    """Each run as it ends, one JSON line (var/bench-webhooks/runs.jsonl): nothing is lost if a
    later step fails."""
    with (work / "runs.jsonl").open("a") as f:
        f.write(json.dumps(run, default=str) + "\n")


def load_meta(work: Path, channels: list[str]) -> dict:
    import pickle

    meta = {}
    for channel in channels:
        data = pickle.loads((work / f"{channel}.pickle").read_bytes())
        index = {s: i for i, s in enumerate(data["senders"])}
        meta[channel] = {
            "keys": [r[4] for r in data["requests"]],
            "senders": [r[3] for r in data["requests"]],
            "returning": data["returning"],
            "count": len(data["requests"]),
            "sender_pool": len(index),
            "signing_seconds": data["signing_seconds"],
            "mean_body_bytes": round(statistics.mean(len(r[2]) for r in data["requests"]), 1),
        }
    return meta


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--channels", default="sms messenger")
    parser.add_argument("--configs", default="1w 2w 1w-persistent 2w-persistent")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--warmup", type=float, default=5.0)
    parser.add_argument("--sequential", type=float, default=3.0)
    parser.add_argument("--replay", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--port", type=int, default=8393)
    parser.add_argument("--diagnosis", type=int, default=1)
    parser.add_argument(
        "--burst",
        type=int,
        default=0,
        help="also 10 s with this many requests in flight (2 processes)",
    )
    parser.add_argument(
        "--no-template", action="store_true", help="reuse the template made by an earlier run"
    )
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    (args.work / "server.log").unlink(missing_ok=True)
    (args.work / "runs.jsonl").unlink(missing_ok=True)
    channels = args.channels.split()
    configs = args.configs.split()
    inboxes = json.loads((args.work / "inboxes.json").read_text())
    started = time.monotonic()
    stale = drain_task_queue()
    if stale:
        log(f"deleted {stale} Celery tasks left in {os.environ['REDIS_URL']} by an earlier run")
    if not args.no_template:
        make_template()
    facts = database_facts()
    meta = load_meta(args.work, channels)
    log(
        f"database {facts['tickets_ticket']:,} tickets, {facts['bytes'] / 2**20:.0f} MB; "
        f"channels {channels}, configs {configs}, {args.rounds} round(s) of {args.seconds:.0f} s"
    )

    runs = []
    plan = [(c, k) for c in channels for k in configs]
    for r in range(args.rounds):
        for channel, config in plan if r % 2 == 0 else list(reversed(plan)):
            run = one_run(channel, config, args=args, inboxes=inboxes, payload_meta=meta)
            run["round"] = r + 1
            runs.append(run)
            checkpoint(args.work, run)
            m = run["measured"]
            log(
                f"round {r + 1}, {channel}, {config}: {m['requests_per_s']} req/s, p50 "
                f"{m['p50_ms']} p99 {m['p99_ms']} ms, statuses {m['statuses']}, "
                f"CPU ms/req {run['cpu']['ms_per_request']}, "
                f"check {'ok' if run['check']['ok'] else 'FAILED ' + json.dumps(run['check'])}"
            )
            if m.get("exhausted"):
                log("the client ran out of pre-signed requests: raise --count in payloads.py")

    diagnosis = []
    if args.diagnosis:
        timing_dir = args.work / "timing"
        for channel in channels:
            for config in ("1w", "2w"):
                if config not in CONFIGS:
                    continue
                directory = timing_dir / f"{channel}-{config}"
                for old in directory.glob("*.jsonl") if directory.exists() else []:
                    old.unlink()
                run = one_run(
                    channel,
                    config,
                    args=args,
                    inboxes=inboxes,
                    payload_meta=meta,
                    app="timed_asgi:application",
                    pythonpath=f"{ROOT}:{ROOT / 'bench' / 'webhooks'}",
                    env_extra={"WEBHOOK_TIMING_DIR": str(directory)},
                    label="-timed",
                )
                run["diagnosis"] = "timed"
                window = json.loads(
                    (args.work / f"client-{channel}-{config}-timed.json").read_text()
                )["measure_window"]
                run["timing"] = timing_summary(directory, window)
                diagnosis.append(run)
                checkpoint(args.work, run)
                log(
                    f"timed {channel} {config}: {run['measured']['requests_per_s']} req/s, "
                    f"p99 {run['measured']['p99_ms']} ms"
                )
            if PYSPY.exists():
                path = args.work / f"profile-{channel}.txt"
                run = one_run(
                    channel,
                    "1w",
                    args=args,
                    inboxes=inboxes,
                    payload_meta=meta,
                    label="-profiled",
                    profile=path,
                )
                run["diagnosis"] = "profiled"
                run["profile"] = profile_summary(path)
                diagnosis.append(run)
                checkpoint(args.work, run)
                log(f"profiled {channel} 1w: {run['measured']['requests_per_s']} req/s")

    # A burst: many more requests in flight than the 8 of the timed runs (providers retry and
    # deliver backlogs in bursts). With CONN_MAX_AGE=0 each request in flight holds its own
    # PostgreSQL connection, and nothing bounds how many a process opens.
    for channel in channels if args.burst else []:
        burst_args = argparse.Namespace(
            **{
                **vars(args),
                "concurrency": args.burst,
                "seconds": 10.0,
                "warmup": 1.0,
                "sequential": 0.0,
                "replay": 0,
            }
        )
        run = one_run(
            channel, "2w", args=burst_args, inboxes=inboxes, payload_meta=meta, label="-burst"
        )
        run["diagnosis"] = "burst"
        run["concurrency"] = args.burst
        diagnosis.append(run)
        checkpoint(args.work, run)
        log(
            f"burst {channel} 2w, {args.burst} in flight: {run['measured']['requests_per_s']} "
            f"req/s, statuses {run['measured']['statuses']}, "
            f"{run['server_log']['too_many_clients']} 'too many clients'"
        )

    result = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "seconds": round(time.monotonic() - started, 1),
        "database": facts,
        "payloads": {
            c: {k: v for k, v in m.items() if k not in ("keys", "senders")} for c, m in meta.items()
        },
        "settings": {
            "seconds": args.seconds,
            "warmup": args.warmup,
            "sequential": args.sequential,
            "replay": args.replay,
            "concurrency": args.concurrency,
            "rounds": args.rounds,
            "configs": {k: CONFIGS[k] for k in configs},
        },
        "summary": summarize(runs),
        "runs": runs,
        "diagnosis": diagnosis,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, default=str))
    log(f"wrote {args.out} ({result['seconds']:.0f} s)")


# --- diagnosis summaries ----------------------------------------------------------------------


TIMING_KEYS = [
    "total_ms",
    "queued_ms",
    "view_ms",
    "view_cpu_ms",
    "inbox_lookup_ms",
    "connect_ms",
    "accept_ms",
    "accept_cpu_ms",
    "store_raw_ms",
    "process_raw_ms",
    "process_raw_cpu_ms",
    "parse_ms",
    "ingest_ms",
    "ingest_cpu_ms",
    "commit_ms",
    "sql_ms",
    "statements",
    "close_ms",
    "after_view_ms",
]


def timing_summary(directory: Path, window: list[float]) -> dict:
    records = []
    for path in directory.glob("*.jsonl"):
        for line in path.read_text().splitlines():
            if line.strip():
                records.append(json.loads(line))
    everything = [r for r in records if "view_ms" in r]
    # The measured part only (the warm-up, one-at-a-time part and replays left out).
    records = [r for r in everything if window[0] <= r["t"] <= window[1]]
    if not records:
        return {"requests": 0}
    out = {
        "requests": len(records),
        "threads": len({r.get("thread") for r in everything}),
        "requests_all": len(everything),
    }
    for key in TIMING_KEYS:
        values = [r.get(key, 0.0) for r in records]
        out[key] = {
            "mean": round(statistics.mean(values), 3),
            "p50": round(statistics.median(values), 3),
            "p99": round(sorted(values)[int(0.99 * (len(values) - 1))], 3),
        }
    out["statements_by_count"] = dict(Counter(r.get("statements", 0) for r in records))
    out["commits_per_request"] = round(statistics.mean(r.get("commits", 0) for r in records), 2)
    out["connects_per_request"] = round(statistics.mean(r.get("connects", 0) for r in records), 2)
    return out


PROFILE_BUCKETS = [
    ("the view (channels_in.views.inbound_webhook)", ("inbound_webhook (channels_in/views.py",)),
    (
        "… signature check and reading the payload (adapter.accept)",
        ("accept (channels_in/adapters/",),
    ),
    ("… store_raw (INSERT of the raw payload)", ("store_raw (channels_in/pipeline.py",)),
    ("… ingest()", ("ingest (tickets/ingest.py",)),
    ("… adapter.respond (the answer)", ("respond (channels_in/",)),
    (
        "opening database connections (psycopg2 + Django's set-up)",
        ("connect (django/db/backends/base/base.py",),
    ),
    ("closing database connections", ("close (django/db/backends/base/base.py",)),
    ("SQL statements in the driver", ("_execute (django/db/backends/utils.py",)),
    ("commits", ("commit (django/db/backends/base/base.py",)),
    ("Django ORM: building and compiling queries, model instances", ("(django/db/models/",)),
    ("Celery task publish (kombu)", ("(kombu/", "(celery/")),
    (
        "live push after commit (agents.live, channel layer)",
        ("push_message (agents/live.py", "(helpdesk/live.py", "(channels_redis/"),
    ),
    ("Django's handler and middleware outside the view", ()),
    (
        "asgiref thread hand-off (a new thread per request)",
        (
            "Thread.start (threading.py",
            "_adjust_thread_count",
            "ThreadPoolExecutor.shutdown",
            "ThreadSensitiveContext",
        ),
    ),
    ("logging (uvicorn's access log, Django's)", ("(logging/__init__.py",)),
]


def profile_summary(path: Path) -> dict:
    """py-spy raw output (CPU samples, --threads): which thread, and what, uses the CPU."""
    if not path.exists():
        return {"error": "py-spy wrote nothing"}
    threads: Counter = Counter()
    buckets: Counter = Counter()
    leaves: Counter = Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        n = int(count)
        total += n
        head, _, frames = stack.partition(";")
        name = head.split(": ", 1)[-1]
        if name.startswith("ThreadPoolExecutor"):
            kind = "request threads (asgiref, one per request)"
        elif name == "MainThread":
            kind = "event loop thread (uvicorn, ASGI)"
        else:
            kind = name.rstrip("0123456789_-") or name
        threads[kind] += n
        in_view = "inbound_webhook (channels_in/views.py" in frames
        for label, needles in PROFILE_BUCKETS:
            if label.startswith("Django's handler"):
                hit = (
                    not in_view
                    and "(django/core/handlers/" in frames
                    and "connect (django/db" not in frames
                    and "close (django/db" not in frames
                )
            else:
                hit = any(needle in frames for needle in needles)
            if hit:
                buckets[label] += n
        leaf = frames.rsplit(";", 1)[-1]
        leaves[leaf.split(" (", 1)[-1].rsplit(":", 1)[0]] += n
    return {
        "samples": total,
        "threads": {k: round(v / max(total, 1), 3) for k, v in threads.most_common()},
        "buckets": {k: round(buckets[k] / max(total, 1), 3) for k, _ in PROFILE_BUCKETS},
        "top_files": [(k, round(v / max(total, 1), 3)) for k, v in leaves.most_common(12)],
    }


if __name__ == "__main__":
    main()
