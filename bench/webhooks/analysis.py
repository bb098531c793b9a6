"""Where a webhook request's time goes, in one process, no HTTP server (a diagnosis).

    DATABASE_URL=... .venv/bin/python bench/webhooks/analysis.py --work var/bench-webhooks \
        --channels "sms messenger" --out bench/out/webhooks_analysis.json

For each channel, on a fresh copy of the bench database (bench/webhooks/bench.py's template),
posts the same pre-signed requests through django.test.Client (the whole middleware stack and
the view, in this thread, one after another) and records per request, with the timers of
bench/webhooks/timed_asgi.py: the statements (and their sequence, by kind of sender), commits,
connections opened, and the wall and CPU time of the steps: the adapter's accept() (signature
check and reading the payload), store_raw, process_raw (adapter.parse, ingest()), commit,
opening and closing the connection. Twice: with CONN_MAX_AGE=0 (a new PostgreSQL connection
per request, as configured) and with one connection kept (what a pool gives), and reads the
CPU PostgreSQL spent per request in each (the backends, including the ones that exited).
Also, straight through psycopg2: a connect + first query, and an INSERT + COMMIT, for scale.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

import bench as harness  # noqa: E402  (bench/webhooks/bench.py)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--channels", default="sms messenger")
    parser.add_argument("--requests", type=int, default=800)
    parser.add_argument("--warm", type=int, default=100)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    channels = args.channels.split()
    first = pickle.loads((args.work / f"{channels[0]}.pickle").read_bytes())
    os.environ["PUBLIC_BASE_URL"] = first["base_url"]
    os.environ["WEBHOOK_TIMING_DIR"] = str(args.work / "timing" / "analysis")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk.settings")
    harness.reset_database()
    harness.reset_redis()

    import timed_asgi  # noqa: F401  (sets Django up and wraps the steps)
    from django.db import connection
    from django.test import Client

    result = {"channels": {}, "raw": raw_psycopg2()}
    for channel in channels:
        data = pickle.loads((args.work / f"{channel}.pickle").read_bytes())
        requests = data["requests"]
        result["channels"][channel] = {}
        offset = 0
        for mode, max_age in (("new connection per request", 0), ("one kept connection", 600)):
            connection.close()
            connection.settings_dict["CONN_MAX_AGE"] = max_age
            batch = requests[offset : offset + args.warm + args.requests]
            offset += len(batch)
            result["channels"][channel][mode] = run(
                Client(), batch, args.warm, data["returning"], timed_asgi, connection
            )
            r = result["channels"][channel][mode]
            harness.log(
                f"analysis {channel}, {mode}: {r['requests_per_s_one_thread']} req/s in one "
                f"thread, {r['statements_mean']} statements, process CPU "
                f"{r['process_cpu_ms']} ms + PostgreSQL {r['postgres_cpu_ms']} ms per request"
            )
    connection.close()
    harness.drain_task_queue()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))


def summarize_sql(sql: str) -> str:
    import re

    verb = sql.lstrip().split(None, 1)[0].upper()
    table = re.search(r'(?:FROM|INTO|UPDATE)\s+"?(\w+)"?', sql, re.IGNORECASE)
    return f"{verb} {table.group(1) if table else ''}".strip()


def run(client, batch, warm: int, returning: int, timed_asgi, connection) -> dict:
    from django.db import close_old_connections

    seen: set[int] = set()
    records = []
    sequences: dict[str, Counter] = {}
    statements: list[str] = []

    def log_sql(execute, sql, params, many, context):
        statements.append(summarize_sql(sql))
        return execute(sql, params, many, context)

    def post(request):
        path, headers, body = request[0], request[1], request[2]
        extra = {k: v for k, v in headers.items() if k.lower() not in ("content-type",)}
        response = client.post(path, data=body, content_type=headers["Content-Type"], headers=extra)
        # django.test.Client keeps the connection across requests (it disconnects
        # close_old_connections from request_finished); a server closes it here when
        # CONN_MAX_AGE is 0.
        close_old_connections()
        return response

    for request in batch[:warm]:
        seen.add(request[3])
        post(request)
    before = harness.cpu_snapshot([os.getpid()])
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for request in batch[warm:]:
        sender = request[3]
        kind = (
            "follow-up"
            if sender in seen
            else "returning (load data)"
            if sender < returning
            else "new customer"
        )
        seen.add(sender)
        record: dict = {"kind": kind}
        token = timed_asgi._record.set(record)
        statements.clear()
        started, cpu = time.perf_counter(), time.thread_time()
        # Every connection this request opens gets the statement log (the counter is added by
        # timed_asgi when a connection is created; this adds the sequence).
        with connection.execute_wrapper(log_sql):
            response = post(request)
        record["request_ms"] = (time.perf_counter() - started) * 1000
        record["request_cpu_ms"] = (time.thread_time() - cpu) * 1000
        record["status"] = response.status_code
        timed_asgi._record.reset(token)
        sequences.setdefault(kind, Counter())[" ; ".join(statements)] += 1
        records.append(record)
    wall = time.perf_counter() - wall0
    process_cpu = time.process_time() - cpu0
    after = harness.cpu_snapshot([os.getpid()])
    n = len(records)

    def mean(key: str) -> float:
        return round(statistics.mean(r.get(key, 0.0) for r in records), 3)

    stages = [
        "request",
        "view",
        "inbox_lookup",
        "connect",
        "accept",
        "store_raw",
        "process_raw",
        "parse",
        "ingest",
        "commit",
        "sql",
        "close",
    ]
    out = {
        "requests": n,
        "statuses": dict(Counter(str(r["status"]) for r in records)),
        "requests_per_s_one_thread": round(n / wall, 1),
        "process_cpu_ms": round(process_cpu * 1000 / n, 3),
        "postgres_cpu_ms": round((after["postgres"] - before["postgres"]) * 1000 / n, 3),
        "statements_mean": mean("statements"),
        "statements_max": max(r.get("statements", 0) for r in records),
        "commits_mean": mean("commits"),
        "connects_mean": mean("connects"),
        "wall_ms": {s: mean(f"{s}_ms") for s in stages},
        "cpu_ms": {
            s: mean(f"{s}_cpu_ms")
            for s in ("request", "view", "accept", "store_raw", "process_raw", "parse", "ingest")
        },
        "kinds": dict(Counter(r["kind"] for r in records)),
        "by_kind": {},
    }
    for kind, counter in sequences.items():
        mine = [r for r in records if r["kind"] == kind]
        seq, count = counter.most_common(1)[0]
        out["by_kind"][kind] = {
            "n": len(mine),
            "statements_mean": round(statistics.mean(r.get("statements", 0) for r in mine), 2),
            "request_ms_p50": round(statistics.median(r["request_ms"] for r in mine), 3),
            "most_common_sequence": seq,
            "share_with_that_sequence": round(count / len(mine), 3),
        }
    return out


def raw_psycopg2() -> dict:
    """For scale: connect + one query, a SELECT 1, a durable INSERT + COMMIT (medians of 200)."""
    import psycopg2

    db = harness.db_config()
    kwargs = dict(
        dbname=db["NAME"],
        user=db.get("USER") or None,
        host=db.get("HOST") or None,
        port=db.get("PORT") or None,
    )
    connects = []
    before = harness.cpu_snapshot([])
    for _ in range(200):
        started = time.perf_counter()
        conn = psycopg2.connect(**kwargs)
        with conn.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        conn.close()
        connects.append((time.perf_counter() - started) * 1000)
    after = harness.cpu_snapshot([])
    # What a new backend costs PostgreSQL before it touches any table of ours.
    connect_pg_cpu = (after["postgres"] - before["postgres"]) * 1000 / 200
    conn = psycopg2.connect(**kwargs)
    with conn.cursor() as cursor:
        cursor.execute("CREATE TEMP TABLE IF NOT EXISTS t (id serial, body text)")
        cursor.execute("CREATE TABLE bench_commit (id serial primary key, body text)")
    conn.commit()
    commit, select = [], []
    for _ in range(200):
        started = time.perf_counter()
        with conn.cursor() as cursor:
            cursor.execute("INSERT INTO bench_commit (body) VALUES (%s)", ["x" * 100])
        conn.commit()
        commit.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        with conn.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        select.append((time.perf_counter() - started) * 1000)
    with conn.cursor() as cursor:
        cursor.execute("DROP TABLE bench_commit")
    conn.commit()
    conn.close()
    return {
        "connect_select_1_ms": round(statistics.median(connects), 3),
        "connect_select_1_postgres_cpu_ms": round(connect_pg_cpu, 3),
        "insert_commit_ms": round(statistics.median(commit), 3),
        "select_1_ms": round(statistics.median(select), 3),
    }


if __name__ == "__main__":
    main()
