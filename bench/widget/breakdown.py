"""Join a timed server run's records (server.py --timing) with the client's (load.py --records).

    python3 bench/widget/breakdown.py --server timing.jsonl --client records.jsonl --out x.json

Both carry time.monotonic() values of the same machine, keyed by the message's client_id.
Only the measured messages (after warm-up) count. Each stage: p50 / p99 / mean in ms.
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path


def stats(values: list[float]) -> dict:
    if not values:
        return {"n": 0}
    ordered = sorted(values)

    def at(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))], 2)

    return {
        "n": len(ordered),
        "p50": at(50),
        "p99": at(99),
        "mean": round(statistics.fmean(ordered), 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--server", type=Path, required=True)
    parser.add_argument("--client", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    server = {}
    for line in args.server.read_text().splitlines():
        record = json.loads(line)
        server[record["client_id"]] = record
    pairs = []
    for line in args.client.read_text().splitlines():
        client = json.loads(line)
        if client.get("measured") and client["client_id"] in server:
            pairs.append((client, server[client["client_id"]]))

    def stage(name: str, fn) -> None:
        values = []
        for c, s in pairs:
            try:
                values.append(fn(c, s))
            except KeyError:
                pass
        stages[name] = stats(values)

    ms = 1000.0
    stages: dict[str, dict] = {}
    stage("send → the consumer takes the frame", lambda c, s: (s["arrival"] - c["send"]) * ms)
    stage("… → the database thread starts it", lambda c, s: (s["thread_start"] - s["arrival"]) * ms)
    stage(
        "in the database thread (receive_visitor_message)",
        lambda c, s: (s["thread_end"] - s["thread_start"]) * ms,
    )
    stage("  opening the database connection", lambda c, s: s.get("connect_ms", 0.0))
    stage("  store_raw (INSERT + commit)", lambda c, s: s["store_raw_ms"])
    stage(
        "  process_raw (parse, ingest, commit, after-commit pushes)",
        lambda c, s: s["process_raw_ms"],
    )
    stage("  commits (both)", lambda c, s: s["commit_ms"])
    stage("  visitor_groups (the widget.message push)", lambda c, s: s["groups_ms"])
    stage("thread end → ack at the visitor", lambda c, s: (c["ack"] - s["thread_end"]) * ms)
    stage(
        "notice published → its group_send starts on the loop",
        lambda c, s: (s["loop_start"] - s["publish"]) * ms,
    )
    stage(
        "group_send (Redis PUBLISH, behind the layer's lock)",
        lambda c, s: (s["loop_end"] - s["loop_start"]) * ms,
    )
    stage(
        "published → the watching agent has the notice",
        lambda c, s: (c["notice"] - s["loop_end"]) * ms,
    )
    stage("send → ack (visitor)", lambda c, s: (c["ack"] - c["send"]) * ms)
    stage("send → notice (watching agent)", lambda c, s: (c["notice"] - c["send"]) * ms)

    # How busy the database work kept its thread(s) while the measured messages ran.
    busy = sum(s["thread_end"] - s["thread_start"] for _, s in pairs)
    if pairs:
        first = min(s["thread_start"] for _, s in pairs)
        last = max(s["thread_end"] for _, s in pairs)
        span = last - first
    else:
        span = 0
    result = {
        "messages": len(pairs),
        "stages": stages,
        "thread_busy_s": round(busy, 2),
        "span_s": round(span, 2),
        "messages_per_s_through_threads": round(len(pairs) / span, 1) if span else None,
    }
    args.out.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
