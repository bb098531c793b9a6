"""Summarise a py-spy raw profile of the server (`py-spy record --format raw --threads --idle`).

    python3 bench/widget/profile.py var/bench-widget/profile.txt --out bench/out/widget_profile.json

Per thread kind (the event loop, the thread-sensitive sync thread all websocket consumers share,
other sync threads), the share of samples in each bucket below. Buckets are checked in order
on a sample's stack and the first that matches takes it; "idle" is a thread waiting for work.
Wall-clock samples (idle included), so waiting for PostgreSQL counts as time too.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

# (bucket, any of these substrings in a frame's "function (file:line)")
BUCKETS = [
    ("opening a database connection", ["get_new_connection", "connect (psycopg2"]),
    ("closing a database connection", ["close (django/db/backends"]),
    ("commit", ["commit (django/db/backends", "_commit (django/db/backends"]),
    ("SQL statements (execute, incl. waiting for the server)", ["_execute (django/db/backends"]),
    ("Redis cache (rate limits)", ["(django/core/cache/backends/redis"]),
    ("channel layer publish", ["group_send (", "publish (channels_redis"]),
    ("channels_redis receive", ["_do_receiving", "get_message (redis"]),
    ("websocket frames (uvicorn/websockets)", ["(uvicorn/protocols/websockets", "(websockets/"]),
    ("close_old_connections hop", ["close_old_connections"]),
    ("Django ORM and other Python", ["(django/", "(tickets/", "(channels_in/", "(agents/"]),
]
# Frames that only carry a thread's own loop: what comes after them is the work.
BASES = ["Runner.run (asyncio/runners.py", "_worker (concurrent/futures/thread.py"]


def work_frames(frames: list[str]) -> list[str]:
    """The frames below the thread's loop (the event loop's run, an executor's _worker)."""
    last = -1
    for i, frame in enumerate(frames):
        if any(base in frame for base in BASES):
            last = i
    return frames[last + 1 :] if last >= 0 else frames


def bucket(frames: list[str]) -> str:
    work = work_frames(frames)
    if not work:
        return "idle"  # waiting for work (uvloop runs its loop in C: nothing below Runner.run)
    for name, markers in BUCKETS:
        if any(marker in frame for frame in work for marker in markers):
            return name
    return "other Python"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("raw", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    threads: dict[str, dict[str, int]] = {}
    names: dict[str, str] = {}
    for line in args.raw.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = stack.split(";")
        # With --threads the first frame is "thread (<id>): <name>".
        head, frames = frames[0], frames[1:]
        if "MainThread" in head:
            kind = "event loop"
        elif "ThreadPoolExecutor" in head:
            kind = "sync threads"
        else:
            kind = "other"
        names[head.split(")")[0]] = kind
        shares = threads.setdefault(kind, {})
        name = bucket(frames)
        shares[name] = shares.get(name, 0) + int(count)
    result = {}
    for kind, shares in threads.items():
        total = sum(shares.values())
        result[kind] = {
            "samples": total,
            "threads": sum(1 for k in names.values() if k == kind),
            "shares": {
                k: round(100 * v / total, 1)
                for k, v in sorted(shares.items(), key=lambda kv: -kv[1])
            },
        }
    args.out.write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
