"""Merge the email bench's parts into bench/out/email.json for bench/report.py.

    .venv/bin/python bench/email/combine.py --out bench/out/email.json --seconds 420 \
        --mails bench/out/email_mails.json --parse bench/out/email_parse.json \
        --e2e bench/out/email_e2e.json --djhelpdesk bench/out/email_djhelpdesk.json

Adds what the machine was (cores, CPU, memory, PostgreSQL and its durability settings).
A missing part is recorded as absent, so the report can say which step did not run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
from datetime import UTC, datetime
from pathlib import Path

import psycopg2


def read(path: Path | None) -> dict | None:
    if path is None or not path.exists():
        return None
    return json.loads(path.read_text())


def machine(database_url: str) -> dict:
    def first(path: str, prefix: str) -> str:
        try:
            for line in Path(path).read_text().splitlines():
                if line.startswith(prefix):
                    return line.split(":", 1)[1].strip()
        except OSError:
            pass
        return ""

    memory_kb = first("/proc/meminfo", "MemTotal").split()[0] or "0"
    info = {
        "nproc": os.cpu_count(),
        "cpu": first("/proc/cpuinfo", "model name") or platform.processor(),
        "memory_gib": round(int(memory_kb) / 1024 / 1024, 1),
        "python": platform.python_version(),
    }
    try:
        conn = psycopg2.connect(database_url.replace("postgres://", "postgresql://", 1))
        with conn.cursor() as cursor:
            cursor.execute("SELECT version()")
            info["postgresql"] = cursor.fetchone()[0].split(" on ")[0]
            for name in ("synchronous_commit", "fsync", "shared_buffers", "max_connections"):
                cursor.execute(f"SHOW {name}")
                info[name] = cursor.fetchone()[0]
        conn.close()
    except psycopg2.Error as exc:
        info["postgresql"] = f"unknown ({exc.__class__.__name__})"
    return info


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--mails", type=Path)
    parser.add_argument("--parse", type=Path)
    parser.add_argument("--e2e", type=Path)
    parser.add_argument("--djhelpdesk", type=Path)
    parser.add_argument("--seconds", type=int, default=0)
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    result = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "seconds": args.seconds,
        "machine": machine(args.database_url),
        "load_average": os.getloadavg(),
        "mails": read(args.mails),
        "parse": read(args.parse),
        "e2e": read(args.e2e),
        "djhelpdesk": read(args.djhelpdesk),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
