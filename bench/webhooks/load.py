"""The load client: pre-signed webhook requests, exactly N in flight, from one asyncio process.

    .venv/bin/python bench/webhooks/load.py --payloads var/bench-webhooks/sms.pickle \
        --port 8393 --concurrency 8 --warmup 5 --seconds 30 --out bench/out/x.json

aiohttp on uvloop, one keep-alive connection per in-flight slot (a connector limited to
`--concurrency`); each of the `--concurrency` tasks sends the next unsent request as soon as
its previous answer is in, so exactly that many are in flight all the time. Requests are
taken in order from `--start`: first for `--warmup` seconds (not counted), then for
`--seconds` (measured). The measured window is [first send, last answer] of the requests
sent in it; requests/s = those requests ÷ that window. Any answer other than 2xx (or no
answer) is an error.

`--replay N`: afterwards, send again N requests already answered (spread over the run),
8 in flight; each must answer 2xx and say it is a duplicate (body contains "duplicate": true,
or, for Twilio's TwiML answer, is 2xx with nothing stored again — checked in the database).

Prints "MEASURE_START" and "MEASURE_END" on stdout at the edges of the measured part, so the
caller can read CPU counters there. The result JSON lists per phase: count, status counts,
percentiles, the indices of the requests sent (so the caller can check the database).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import pickle
import sys
import time
from collections import Counter
from pathlib import Path

import aiohttp

try:
    import uvloop
except ImportError:  # pragma: no cover
    uvloop = None


def percentile(values: list[float], pct: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(pct / 100 * len(ordered)) - 1)]


class Source:
    def __init__(self, requests: list, start: int) -> None:
        self.requests = requests
        self.next = start

    def take(self) -> int | None:
        if self.next >= len(self.requests):
            return None
        index = self.next
        self.next += 1
        return index


async def send(session, url_base: str, request, *, want_body: bool):
    path, headers, body = request[0], request[1], request[2]
    began = time.perf_counter()
    try:
        async with session.post(url_base + path, data=body, headers=headers) as response:
            payload = await response.read()
            status = response.status
    except (aiohttp.ClientError, TimeoutError, OSError) as exc:
        payload, status = repr(exc).encode(), 0
    ended = time.perf_counter()
    return began, ended, status, payload if (want_body or not 200 <= status < 300) else b""


async def phase(
    session, url_base, requests, source: Source | list, concurrency, until, *, want_body=False
):
    """Run `concurrency` senders until `until` (perf_counter) or the source is empty."""
    records = []
    queue = iter(source) if isinstance(source, list) else None

    def take():
        if queue is not None:
            return next(queue, None)
        return source.take()

    async def worker():
        while until is None or time.perf_counter() < until:
            index = take()
            if index is None:
                return
            began, ended, status, body = await send(
                session, url_base, requests[index], want_body=want_body
            )
            records.append((index, began, ended, status, body))

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return records


def summarize(records: list, *, duplicate_check: bool = False) -> dict:
    if not records:
        return {"requests": 0}
    latencies = [(e - b) * 1000 for _, b, e, _, _ in records]
    window = max(e for _, _, e, _, _ in records) - min(b for _, b, _, _, _ in records)
    statuses = Counter(s for _, _, _, s, _ in records)
    errors = [
        (s, body[:300].decode(errors="replace"))
        for _, _, _, s, body in records
        if not 200 <= s < 300
    ]
    out = {
        "requests": len(records),
        "seconds": round(window, 3),
        "requests_per_s": round(len(records) / window, 1) if window else None,
        "p50_ms": round(percentile(latencies, 50), 2),
        "p95_ms": round(percentile(latencies, 95), 2),
        "p99_ms": round(percentile(latencies, 99), 2),
        "max_ms": round(max(latencies), 2),
        "mean_ms": round(sum(latencies) / len(latencies), 2),
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "ok": sum(1 for _, _, _, s, _ in records if 200 <= s < 300),
        "errors": len(errors),
        "error_samples": sorted({f"{s} {b}" for s, b in errors})[:5],
        "indices": sorted(i for i, _, _, _, _ in records),
        "ok_indices": sorted(i for i, _, _, s, _ in records if 200 <= s < 300),
    }
    if duplicate_check:
        flagged = 0
        for *_, body in records:
            try:
                flagged += bool(json.loads(body).get("duplicate"))
            except (ValueError, AttributeError):
                pass
        out["flagged_duplicate"] = flagged
        out["body_samples"] = sorted({b[:200].decode(errors="replace") for *_, b in records})[:3]
    # Per second of the run: how steady the rate was.
    start = min(b for _, b, _, _, _ in records)
    per_second = Counter(int(e - start) for _, _, e, _, _ in records)
    out["per_second"] = [per_second.get(i, 0) for i in range(int(window) + 1)]
    return out


async def main_async(args) -> dict:
    data = pickle.loads(args.payloads.read_bytes())
    requests = data["requests"]
    url_base = f"http://127.0.0.1:{args.port}"
    connector = aiohttp.TCPConnector(limit=args.concurrency, force_close=False)
    timeout = aiohttp.ClientTimeout(total=120)
    source = Source(requests, args.start)
    result: dict = {"channel": data["channel"], "concurrency": args.concurrency}
    async with aiohttp.ClientSession(
        connector=connector, timeout=timeout, skip_auto_headers=("Accept-Encoding",)
    ) as session:
        if args.warmup > 0:
            records = await phase(
                session,
                url_base,
                requests,
                source,
                args.concurrency,
                time.perf_counter() + args.warmup,
            )
            result["warmup"] = summarize(records)
        if args.sequential > 0:
            # One in flight: the latency without any queueing.
            records = await phase(
                session, url_base, requests, source, 1, time.perf_counter() + args.sequential
            )
            result["sequential"] = summarize(records)
        if args.hook:
            print("MEASURE_START", flush=True)
            sys.stdin.readline()  # the caller has read its counters
        cpu = os.times()
        measure_start = time.perf_counter()
        records = await phase(
            session, url_base, requests, source, args.concurrency, measure_start + args.seconds
        )
        cpu_end = os.times()
        # time.perf_counter() is CLOCK_MONOTONIC here: the server's timers share it.
        result["measure_window"] = [measure_start, time.perf_counter()]
        if args.hook:
            print("MEASURE_END", flush=True)
            sys.stdin.readline()
        result["measured"] = summarize(records)
        result["measured"]["client_cpu_s"] = round(
            (cpu_end.user - cpu.user) + (cpu_end.system - cpu.system), 3
        )
        result["measured"]["exhausted"] = source.next >= len(requests)
        result["next_index"] = source.next
        if args.replay:
            answered = result["measured"]["ok_indices"]
            step = max(1, len(answered) // args.replay)
            chosen = answered[::step][: args.replay]
            records = await phase(
                session, url_base, requests, list(chosen), args.concurrency, None, want_body=True
            )
            result["replay"] = summarize(records, duplicate_check=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--payloads", type=Path, required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--start", type=int, default=0, help="first request to send")
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds, not counted")
    parser.add_argument(
        "--sequential",
        type=float,
        default=0.0,
        help="seconds of one request at a time after the warm-up (not counted)",
    )
    parser.add_argument("--seconds", type=float, default=30.0, help="measured seconds")
    parser.add_argument("--replay", type=int, default=0)
    parser.add_argument(
        "--hook",
        action="store_true",
        help="print MEASURE_START/END and wait for a line on stdin at each",
    )
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    if uvloop is not None:
        uvloop.install()
    result = asyncio.run(main_async(args))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result))


if __name__ == "__main__":
    main()
