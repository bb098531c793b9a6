"""Time channels_in.email.parse.parse_email per message over a set of .eml files.

    .venv/bin/python bench/email/parse_timing.py --out bench/out/email_parse.json \
        --set generated=var/bench-email/mails --set corpus=tests/channels_in/email_corpus/mails

No database: parse_email is pure. Each file is parsed once to warm up, then PASSES more
times; a message's time is the median of its passes (so one burst of other work on this
shared machine does not make a message look slow), and p50/p99 are over the messages.
A set whose directory is missing or empty is recorded as absent, not an error.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import time
from email import message_from_bytes, policy
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402

from channels_in.email.parse import parse_email  # noqa: E402


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(pct / 100 * len(ordered)) - 1)]


def time_set(directory: Path, passes: int) -> dict:
    files = sorted(directory.glob("*.eml")) if directory.is_dir() else []
    if not files:
        return {"absent": True, "directory": str(directory)}
    raws = [(f.name, f.read_bytes()) for f in files]
    limit = settings.EMAIL_MAX_ATTACHMENT_BYTES
    failures = []
    for name, raw in raws:  # warm-up, and the files that do not parse at all
        try:
            parse_email(raw, max_attachment_bytes=limit)
        except Exception as exc:  # noqa: BLE001 - a corpus may hold deliberately broken mail
            failures.append(f"{name}: {type(exc).__name__}")
    samples: dict[str, list[float]] = {name: [] for name, _ in raws}
    for _ in range(passes):
        for name, raw in raws:
            started = time.perf_counter()
            try:
                parse_email(raw, max_attachment_bytes=limit)
            except Exception:  # noqa: BLE001, S110 - counted above
                pass
            samples[name].append((time.perf_counter() - started) * 1000)
    per_message = {name: statistics.median(values) for name, values in samples.items()}
    # What the standard library's parser costs by itself, with the policy parse_email uses
    # (default: every header access builds a structured header object) and with compat32.
    stdlib = {}
    for label, chosen in (("policy_default", policy.default), ("compat32", policy.compat32)):
        started = time.perf_counter()
        for _, raw in raws:
            message_from_bytes(raw, policy=chosen)
        stdlib[label] = round((time.perf_counter() - started) * 1000 / len(raws), 3)
    times = list(per_message.values())
    slowest = max(per_message, key=per_message.get)
    sizes = [len(raw) for _, raw in raws]
    return {
        "directory": str(
            directory.relative_to(ROOT) if directory.is_relative_to(ROOT) else directory
        ),
        "messages": len(raws),
        "passes": passes,
        "bytes_mean": round(statistics.mean(sizes)),
        "bytes_max": max(sizes),
        "p50_ms": round(percentile(times, 50), 3),
        "p99_ms": round(percentile(times, 99), 3),
        "mean_ms": round(statistics.mean(times), 3),
        "max_ms": round(max(times), 3),
        "slowest": slowest,
        "messages_per_s_one_core": round(len(times) / (sum(times) / 1000)),
        "unparseable": failures,
        "message_from_bytes_mean_ms": stdlib,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--set", action="append", default=[], help="label=directory")
    parser.add_argument("--passes", type=int, default=5)
    args = parser.parse_args()
    result = {}
    for item in args.set:
        label, _, directory = item.partition("=")
        path = Path(directory)
        result[label] = time_set(path if path.is_absolute() else ROOT / path, args.passes)
        figure = result[label]
        if figure.get("absent"):
            print(f"bench: parse {label}: no .eml files in {directory}, skipped")
        else:
            print(
                f"bench: parse {label}: {figure['messages']} mails, p50 {figure['p50_ms']} ms, "
                f"p99 {figure['p99_ms']} ms, {figure['messages_per_s_one_core']}/s on one core"
            )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
