"""Write the "Live chat (widget)" section of bench/RESULTS.md from bench/out/widget_*.json.

    .venv/bin/python bench/widget/report.py --out bench/RESULTS.md --results bench/out --seconds 900
    .venv/bin/python bench/widget/report.py --out bench/RESULTS.md --restore OLD_RESULTS.md

Rewrites only what lies between the `<!-- widget:start -->` / `<!-- widget:end -->` markers
(placed after the Email section the first time) and the widget lines of the Summary (between
`<!-- widget-summary:start -->` / `<!-- widget-summary:end -->`, at the end of the Summary).
`--restore` puts both blocks of an older copy back: bench/report.py rewrites the file from the
core results and keeps only the Email section, so bench/run.sh saves and restores these.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

START, END = "<!-- widget:start -->", "<!-- widget:end -->"
SUMMARY_START, SUMMARY_END = "<!-- widget-summary:start -->", "<!-- widget-summary:end -->"
EMAIL_END = "<!-- email:end -->"

CONNECTIONS_TARGET = 2000
KB_TARGET = 100  # kB (1,000 bytes) per connection
P99_TARGET_MS = 50

VARIANTS = [
    ("diag-deployed", "as deployed (instrumented)"),
    ("diag-persistent", "`CONN_MAX_AGE=60`"),
    ("diag-nohop", "no dispatch hop"),
    ("diag-threads", "no dispatch hop + thread pool"),
    ("diag-threads-persistent", "no dispatch hop + thread pool + `CONN_MAX_AGE=60`"),
]
# Below the saturation point.
BELOW = [
    ("diag-low", "as deployed"),
    ("diag-rate40", "as deployed"),
    ("diag-best100", "no dispatch hop + thread pool + `CONN_MAX_AGE=60`"),
]


# --- splicing --------------------------------------------------------------------------------


def block(text: str, start: str, end: str) -> str:
    a, b = text.find(start), text.find(end)
    return text[a : b + len(end)] if a != -1 and b != -1 else ""


def splice(text: str, section: str, summary: str) -> str:
    old = block(text, START, END)
    if old:
        text = text.replace(old, section)
    elif EMAIL_END in text:
        at = text.index(EMAIL_END) + len(EMAIL_END)
        text = text[:at] + "\n\n" + section + text[at:]
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    if summary:
        old = block(text, SUMMARY_START, SUMMARY_END)
        if old:
            text = text.replace(old, summary)
        elif "## Summary" in text:
            # At the end of the Summary: before the next "## " heading after it.
            after = text.index("## Summary") + len("## Summary")
            nxt = text.find("\n## ", after)
            at = nxt + 1 if nxt != -1 else len(text)
            text = text[:at].rstrip("\n") + "\n\n" + summary + "\n\n" + text[at:]
    if not text.endswith("\n"):
        text += "\n"
    return text


# --- formatting ------------------------------------------------------------------------------


def read(path: Path) -> dict | None:
    return json.loads(path.read_text()) if path.exists() else None


def ok(met: bool) -> str:
    return "**met**" if met else "**missed**"


def ms(value: float | None, over: float | None = None) -> str:
    if value is None:
        return f"> {over:,.0f} s" if over else "–"
    if value >= 10000:
        return f"{value / 1000:,.1f} s"
    if value >= 100:
        return f"{value:,.0f}"
    return f"{value:.1f}"


def pcts(s: dict, over: float | None, keys=("p50", "p95", "p99")) -> str:
    if not s or not s.get("n"):
        return "–"
    return " / ".join(ms(s.get(k), over) for k in keys)


def kib_kb(kib: float) -> str:
    return f"{kib:,.1f} KiB ({kib * 1.024:,.1f} kB)"


def machine(database_url: str) -> dict:
    def first(path: str, prefix: str) -> str:
        try:
            for line in Path(path).read_text().splitlines():
                if line.startswith(prefix):
                    return line.split(":", 1)[1].strip()
        except OSError:
            pass
        return ""

    info = {
        "nproc": os.cpu_count(),
        "cpu": first("/proc/cpuinfo", "model name") or platform.processor(),
        "memory_gib": round(int(first("/proc/meminfo", "MemTotal").split()[0]) / 1024**2, 1),
        "python": platform.python_version(),
        "versions": {},
    }
    for name in ("Django", "channels", "channels-redis", "uvicorn", "websockets", "redis"):
        try:
            info["versions"][name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    try:
        import psycopg2

        conn = psycopg2.connect(database_url.replace("postgres://", "postgresql://", 1))
        with conn.cursor() as cursor:
            cursor.execute("SELECT version()")
            info["postgresql"] = cursor.fetchone()[0].split(" on ")[0]
            for name in ("synchronous_commit", "max_connections"):
                cursor.execute(f"SHOW {name}")
                info[name] = cursor.fetchone()[0]
        conn.close()
    except Exception as exc:  # noqa: BLE001 - the report still renders without it
        info["postgresql"] = f"unknown ({exc.__class__.__name__})"
    return info


def cpu_line(cpu: dict) -> str:
    return (
        f"server {cpu['server_cpu_pct']:.0f} %, PostgreSQL {cpu['postgres_cpu_pct']:.0f} %, "
        f"Redis {cpu['redis_cpu_pct']:.0f} %, client {cpu['client_cpu_pct']:.0f} %, "
        f"other work {max(0, cpu['other_cpu_pct']):.0f} % (of one core; the machine has "
        f"{cpu['cores']:.0f})"
    )


# --- the section -----------------------------------------------------------------------------


def render(out: Path, seconds: int, info: dict) -> tuple[str, str]:  # noqa: C901 - linear
    conn = read(out / "widget_connections_deflate.json")
    plain = read(out / "widget_connections_plain.json")
    runs = []
    n = 1
    while (out / f"widget_latency_run{n}.json").exists():
        runs.append(read(out / f"widget_latency_run{n}.json"))
        n += 1
    logs = {
        p.stem.removeprefix("widget_log_"): read(p) for p in sorted(out.glob("widget_log_*.json"))
    }
    names = [name for name, _ in VARIANTS + BELOW]
    diag = {name: read(out / f"widget_latency_{name}.json") for name in names}
    breakdown = {name: read(out / f"widget_breakdown_{name}.json") for name in names}
    profile = read(out / "widget_profile.json")
    # When the measurements ended (the newest result file), not when this text was written.
    stamps = [p.stat().st_mtime for p in out.glob("widget_latency_*.json")]
    ended = datetime.fromtimestamp(max(stamps), UTC) if stamps else datetime.now(UTC)
    date = ended.strftime("%Y-%m-%d %H:%M UTC")

    lines = [START, "## Live chat (widget)", ""]
    add = lines.append
    loads = [r["cpu"]["load1"][1] for r in runs if r] + (
        [s["opening_cpu"]["load1"][1] for s in conn["steps"]] if conn else []
    )
    add(
        f"Generated by `BENCH_ONLY=widget make bench` (`bench/widget/run.sh`, {seconds} s) on "
        f"{date}; do not edit by hand. {info['nproc']} CPUs ({info['cpu']}), "
        f"{info['memory_gib']} GiB, {info.get('postgresql')} (synchronous_commit="
        f"{info.get('synchronous_commit')}, max_connections={info.get('max_connections')}), "
        f"Redis 7 on 127.0.0.1, Python {info['python']}, "
        + ", ".join(f"{k} {v}" for k, v in info["versions"].items())
        + ". Channel layer `channels_redis.pubsub.RedisPubSubChannelLayer` (REDIS_URL set), "
        "DEBUG=0, one uvicorn process (`manage.py serve`: uvloop, httptools, websockets-sansio "
        "with permessage-deflate at 12-bit windows)."
    )
    add("")
    others = [x["cpu"]["other_cpu_pct"] for x in runs if x] + [
        x["cpu"]["other_cpu_pct"] for x in diag.values() if x
    ]
    if loads and others:
        busy = max(others) > 25
        add(
            "**The machine was shared while this ran**: other work took up to "
            f"{max(others):.0f} % "
            'of one core during the latency runs (the "other work" figures), and the 1-minute '
            f"load average was {min(loads):.1f}–{max(loads):.1f} on {info['nproc']} cores. "
            "Rates "
            "and latencies would be better on a quiet machine; the per-message costs and the "
            "ratios between runs of this section are what to compare."
            if busy
            else "The machine was quiet while this ran: other work took at most "
            f"{max(others):.0f} % of one core during the latency runs, the 1-minute load "
            f"average was {min(loads):.1f}–{max(loads):.1f} on {info['nproc']} cores."
        )
        add("")

    # --- summary
    summary = [
        SUMMARY_START,
        "",
        "Live chat (widget), one uvicorn process with the Redis "
        'pub/sub channel layer (details in "Live chat (widget)" below):',
        "",
        "| figure | target | measured | verdict |",
        "|---|---|---|---|",
    ]
    table = ["| figure | target | measured | verdict |", "|---|---|---|---|"]
    if conn:
        last = conn["steps"][-1]
        held = max((s["open"] for s in conn["steps"] if s["errors"] == 0), default=0)
        tried = conn["steps"][-1]["target"]
        row = (
            f"| idle widget sockets held by one process (handshake done, `session` frame read) "
            f"| ≥ {CONNECTIONS_TARGET:,} | {held:,} (all {tried:,} tried; "
            f"{sum(s['errors'] for s in conn['steps'])} errors) | "
            f"{ok(held >= CONNECTIONS_TARGET)} |"
        )
        table.append(row)
        summary.append(row)
        at_target = next((s for s in conn["steps"] if s["open"] >= CONNECTIONS_TARGET), last)
        worst = (
            max(s["kib_per_connection"] for s in conn["steps"] if s["open"] >= CONNECTIONS_TARGET)
            if any(s["open"] >= CONNECTIONS_TARGET for s in conn["steps"])
            else last["kib_per_connection"]
        )
        plain_text = ""
        if plain and plain["steps"]:
            plain_text = (
                f"; {plain['steps'][-1]['kib_per_connection']:,.1f} KiB without permessage-deflate"
            )
        row = (
            f"| server memory per idle socket (RSS growth ÷ sockets, browser-like "
            f"permessage-deflate) | ≤ {KB_TARGET} KB | {kib_kb(at_target['kib_per_connection'])} "
            f"at {at_target['open']:,}, {kib_kb(last['kib_per_connection'])} at "
            f"{last['open']:,}{plain_text} | {ok(worst * 1.024 <= KB_TARGET)} |"
        )
        table.append(row)
        summary.append(row)
        close = conn["mass_close"]
        errs = logs.get("connections_deflate") or {}
        met = (
            close["close_errors"] == 0
            and close["released_in_s"] is not None
            and errs.get("errors", 1) == 0
            and close["probe"]["frame"] == "ack"
        )
        row = (
            f"| all {close['closed']:,} closing at once | no errors, nothing left behind | "
            f"closed in {close['closed_in_s']:.1f} s, every layer subscription released in "
            f"{close['released_in_s'] if close['released_in_s'] is not None else '> 120'} s, "
            f"{errs.get('errors', '?')} errors in the server log "
            f'({errs.get("too_many_connections", "?")} "Too many connections"), a new '
            f"visitor's message acked after | {ok(met)} |"
        )
        table.append(row)
        summary.append(row)
    if runs:
        over = max(r["drained_in_s"] for r in runs)
        p99s = [r["watcher"].get("p99") for r in runs]
        met = all(p is not None and p <= P99_TARGET_MS for p in p99s)
        text = ", ".join(
            f"run {i}: p99 {dur(r['watcher'].get('p99'), r['drained_in_s'])} "
            f"(p50 {dur(r['watcher'].get('p50'), r['drained_in_s'])})"
            for i, r in enumerate(runs, 1)
        )
        dropped = sum(sum((r.get("visitors_closed_by_server") or {}).values()) for r in runs)
        if dropped:
            text += (
                f"; the server closed {dropped} of {sum(r['conversations'] for r in runs)} "
                "visitor sockets (keepalive timeout) under the backlog"
            )
        row = (
            f"| widget → agent notice latency at {runs[0]['rate_target']:.0f} msg/s over "
            f"{runs[0]['conversations']} conversations, p99 | ≤ {P99_TARGET_MS} ms | {text} | "
            f"{ok(met)} |"
        )
        table.append(row)
        summary.append(row)
        kept_up = all((r["acked_per_s_in_window"] or 0) >= 0.98 * r["rate_target"] for r in runs)
        row = (
            "| … messages/s the server got through (acked during the sending window) | "
            f"{runs[0]['rate_target']:.0f} | "
            + ", ".join(f"run {i}: {r['acked_per_s_in_window']}" for i, r in enumerate(runs, 1))
            + f" | {ok(kept_up)} |"
        )
        table.append(row)
        summary.append(row)
        row = (
            "| visitor's `ack`, p50 / p99 | – | "
            + ", ".join(
                f"run {i}: {pcts(r['ack'], over, ('p50', 'p99'))} ms" for i, r in enumerate(runs, 1)
            ).replace(" s ms", " s")
            + " | – |"
        )
        table.append(row)
        summary.append(row)
        lower = [x for x in (diag.get("diag-low"), diag.get("diag-rate40")) if x]
        if lower:
            row = (
                "| … as deployed at lower rates (instrumented runs), notice p99 | "
                f"≤ {P99_TARGET_MS} ms | "
                + ", ".join(
                    f"{x['rate_target']:.0f} msg/s: "
                    + dur(x["watcher"].get("p99"), x["drained_in_s"])
                    for x in lower
                )
                + " | "
                + ", ".join(
                    f"{'met' if (x['watcher'].get('p99') or 1e9) <= P99_TARGET_MS else 'missed'} "
                    f"at {x['rate_target']:.0f}"
                    for x in lower
                )
                + " |"
            )
            table.append(row)
            summary.append(row)
    summary += ["", SUMMARY_END]
    lines += table
    add("")

    # --- idle sockets
    if conn:
        add("### Idle sockets")
        add("")
        add(
            "| sockets | opened in | handshakes/s | handshake + `session` frame p50 / p99 ms "
            "| server RSS | per socket | server CPU while idle | layer subscriptions in Redis |"
        )
        add("|---|---|---|---|---|---|---|---|")
        add(
            f"| 0 (after warm-up) | – | – | – | {conn['baseline']['rss_kib'] / 1024:,.1f} MiB | – "
            "| – "
            f"| {conn['baseline']['redis']['layer_channels']} |"
        )
        for s in conn["steps"]:
            add(
                f"| {s['open']:,} | {s['opened_in_s']:.1f} s | {s['opened_per_s']} | "
                f"{pcts(s['handshake_ms'], None, ('p50', 'p99'))} | {s['rss_kib'] / 1024:,.1f} "
                "MiB | "
                f"{s['kib_per_connection']:.1f} KiB | {s['idle_cpu']['server_cpu_pct']:.1f} % | "
                f"{s['redis']['layer_channels']:,} |"
            )
        if plain:
            for s in plain["steps"]:
                add(
                    f"| {s['open']:,} without permessage-deflate (baseline "
                    f"{plain['baseline']['rss_kib'] / 1024:,.1f} MiB) | {s['opened_in_s']:.1f} s | "
                    f"{s['opened_per_s']} | {pcts(s['handshake_ms'], None, ('p50', 'p99'))} | "
                    f"{s['rss_kib'] / 1024:,.1f} MiB | {s['kib_per_connection']:.1f} KiB | "
                    f"{s['idle_cpu']['server_cpu_pct']:.1f} % | {s['redis']['layer_channels']:,} |"
                )
        add("")
        close = conn["mass_close"]
        errs = logs.get("connections_deflate") or {}
        released = (
            f"after {close['released_in_s']} s"
            if close["released_in_s"] is not None
            else f"NOT within the wait: {close['layer_channels_left']} left"
        )
        add(
            f"All {close['closed']:,} then closed at once (every client sent its close frame in "
            "the "
            f"same instant): the close handshakes completed in {close['closed_in_s']:.2f} s with "
            f"{close['close_errors']} errors (close codes {close['close_codes']}); the channel "
            f"layer's {close['layer_channels_before']:,} Redis subscriptions (one per socket's "
            f"channel, one per visitor group) were all released "
            + released
            + f" (server CPU {close['cpu']['server_cpu_pct']:.0f} % meanwhile). The server log "
            f"shows {errs.get('errors', '?')} errors and {errs.get('too_many_connections', '?')} "
            '"Too many connections"'
            + (
                ": " + "; ".join(f"`{x[:160]}`" for x in errs.get("samples", []))
                if errs.get("samples")
                else ""
            )
            + f". RSS after: {close['rss_kib_after'] / 1024:,.1f} MiB (Python keeps freed memory "
            f"for reuse). A new visitor then connected in {close['probe']['handshake_ms']:.0f} ms "
            f"and its message was answered with `{close['probe']['frame']}`."
        )
        add("")
        add(
            'Why no "Too many connections": the pub/sub layer (`RedisPubSubChannelLayer`) keeps '
            "one publishing and one subscribing connection per event loop and sends "
            "SUBSCRIBE/UNSUBSCRIBE over them one at a time (behind an asyncio lock); the classic "
            "`RedisChannelLayer` that shared/perf-notes.md saw fail draws a pooled connection "
            f"per `group_discard`. Redis held {conn['steps'][-1]['redis']['connected_clients']} "
            f"client connections with {conn['steps'][-1]['open']:,} sockets open."
        )
        add("")
        s = conn["steps"][-1]
        add(
            f"Opening is the slow part: {s['opened_per_s']} handshakes/s with 50 in flight "
            f"(p99 {ms(s['handshake_ms'].get('p99'))} ms). Each widget handshake runs three "
            "calls in the one thread all websocket consumers share for synchronous work "
            "(channels' `aclose_old_connections` before `websocket.connect`, `find_widget_inbox`, "
            "`session_frame`), and the last two each open and close a PostgreSQL connection "
            f"(`CONN_MAX_AGE=0`). So {s['open']:,} visitors reconnecting at once (after a deploy) "
            f"wait about {s['open'] / s['opened_per_s']:.0f} s for the last of them."
        )
        add("")

    # --- latency
    if runs:
        add("### Latency: visitor message → agent notice")
        add("")
        add(
            "| run | offered | sent/s | got through (acked/s) | `ack` p50 / p95 / p99 ms | notice "
            "at the "
            "watching agent p50 / p95 / p99 ms | at all agents p99 | never arrived | CPU while "
            "sending |"
        )
        add("|---|---|---|---|---|---|---|---|---|")
        for i, r in enumerate(runs, 1):
            over = r["drained_in_s"]
            add(
                f"| {i} | {r['rate_target']:.0f} msg/s × {r['duration_s']:.0f} s | "
                f"{r['sent_per_s']} | "
                f"{r['acked_per_s_in_window']} | {pcts(r['ack'], over)} | "
                f"{pcts(r['watcher'], over)} | "
                f"{pcts(r['all_agents'], over, ('p99',))} | {r['watcher'].get('missing', 0):,} of "
                f"{r['messages_measured']:,} within {over:.0f} s | {cpu_line(r['cpu'])} |"
            )
        add("")
        r = runs[0]
        slices = r.get("by_slice") or {}
        if slices:
            add(
                f"Run 1, notice latency by {r['slice_s']} s of sending (p50 ms, by when the "
                "message "
                "was sent): "
                + ", ".join(
                    f"{k}–{int(k) + r['slice_s']} s: {ms(v.get('p50'), r['drained_in_s'])}"
                    for k, v in slices.items()
                )
                + ". It grows for as long as messages arrive faster than the server stores them:"
                " a queue, not a fixed cost."
            )
            add("")

    lines += diagnosis(diag, breakdown, profile)
    lines += reasons(runs, diag, breakdown, read(out / "widget_statements.json"))
    lines += method(conn, runs)
    lines.append(END)
    return "\n".join(lines), "\n".join(summary)


THREAD = "in the database thread (receive_visitor_message)"
CONNECT = "  opening the database connection"
WAIT = "… → the database thread starts it"
HOP = "published → the watching agent has the notice"
LOCK = "group_send (Redis PUBLISH, behind the layer's lock)"


def dur(value: float | None, over: float | None = None) -> str:
    """A duration in prose: "12.3 ms", "4.5 s", "> 60 s"."""
    text = ms(value, over)
    return text if text.endswith(" s") or text == "–" else f"{text} ms"


def stage(b: dict | None, name: str, key: str = "p50") -> float | None:
    return ((b or {}).get("stages", {}).get(name) or {}).get(key)


def diagnosis(diag: dict, breakdown: dict, profile: dict | None) -> list[str]:  # noqa: C901
    if not any(diag.values()):
        return []
    out = ["### Where the time goes", ""]
    add = out.append
    low, low_b = diag.get("diag-low"), breakdown.get("diag-low")
    dep, dep_b = diag.get("diag-deployed"), breakdown.get("diag-deployed")
    if low_b or dep_b:
        add(
            "Instrumented runs as deployed (`bench/widget/server.py --timing`: the steps a message "
            "takes in the server, wrapped at start-up, joined with the client's times by client "
            "id; p50 / p99 ms):"
        )
        add("")
        cols = [(x, b) for x, b in ((low, low_b), (dep, dep_b)) if x and b]
        add("| stage | " + " | ".join(f"{x['rate_target']:.0f} msg/s" for x, _ in cols) + " |")
        add("|---|" + "---|" * len(cols))
        for name in cols[0][1]["stages"]:
            add(
                f"| {name} | "
                + " | ".join(pcts(b["stages"].get(name, {}), None, ("p50", "p99")) for _, b in cols)
                + " |"
            )
        add("")
        if low_b:
            st = low_b["stages"]
            mean = st[THREAD]["mean"]
            cpu = low.get("cpu_ms_per_message") or {}
            add(
                f"At {low['rate_target']:.0f} msg/s a message keeps the database thread "
                f"{mean:.1f} ms "
                f"on average: {st[CONNECT]['mean']:.1f} ms opening a PostgreSQL connection "
                "(`CONN_MAX_AGE=0`: one per `database_sync_to_async` call), "
                f"{st['  store_raw (INSERT + commit)']['mean']:.1f} ms in `store_raw` (the raw "
                "payload in its own transaction) and "
                f"{st['  process_raw (parse, ingest, commit, after-commit pushes)']['mean']:.1f} "
                "ms in "
                f"`process_raw` (ingest() in a second one); the two durable commits take "
                f"{st['  commits (both)']['mean']:.1f} ms of it. Per message the server process "
                f"used {cpu.get('server', 0):.1f} ms of CPU ({cpu.get('server_threads', 0):.1f} in "
                f"sync threads, {cpu.get('server_loop', 0):.1f} in the event loop) and PostgreSQL "
                f"{cpu.get('postgres', 0):.1f} ms — most of that starting a backend for each "
                "new connection (compare the `CONN_MAX_AGE=60` rows below)."
            )
            add("")
    if profile:
        add(
            "py-spy (100 Hz, wall clock, idle included) over the measured window of the "
            f"{dep['rate_target']:.0f} msg/s instrumented run, share of each thread's samples:"
            if dep
            else "py-spy:"
        )
        add("")
        for kind in ("sync threads", "event loop"):
            if kind in profile:
                label = (
                    "the sync thread (the one thread-sensitive executor thread)"
                    if kind == "sync threads"
                    else "the event loop (main thread)"
                )
                add(
                    f"- {label}: "
                    + ", ".join(f"{k} {v} %" for k, v in profile[kind]["shares"].items())
                )
        add("")
    rows = [(label, diag.get(name), breakdown.get(name)) for name, label in VARIANTS]
    rows = [r for r in rows if r[1]]
    below = [(label, diag.get(name), breakdown.get(name)) for name, label in BELOW]
    below = [r for r in below if r[1]]
    if rows or below:
        add(
            "The same load with one change at a time (20 s measured, a fresh server each). The "
            "changes are not the product as it stands: `bench/widget/server.py` applies them at "
            "start-up (`--no-dispatch-hop`: the two consumers dispatch without channels' "
            "`aclose_old_connections` hop; `--db-threads`: the widget consumer's "
            "`database_sync_to_async(..., thread_sensitive=False)`, i.e. the event loop's default "
            "pool of 6 threads) or the environment does (`CONN_MAX_AGE=60`); no file is edited."
        )
        add("")
        add(
            "| server | offered | got through (acked/s) | notice p50 / p99 ms | `ack` p50 / p99 "
            "ms | "
            "waiting for a database thread p50 ms | in it p50 ms (connecting) | group_send p50 ms "
            "| published → agent has it p50 / p99 ms | server CPU ms per message (loop + threads)"
            " | PostgreSQL CPU ms per message |"
        )
        add("|---|---|---|---|---|---|---|---|---|---|---|")
        for label, r, b in rows + below:
            cpu = r.get("cpu_ms_per_message") or {}
            add(
                f"| {label} | {r['rate_target']:.0f} | {r['acked_per_s_in_window']} | "
                f"{pcts(r['watcher'], r['drained_in_s'], ('p50', 'p99'))} | "
                f"{pcts(r['ack'], r['drained_in_s'], ('p50', 'p99'))} | "
                f"{ms(stage(b, WAIT))} | {ms(stage(b, THREAD))} ({ms(stage(b, CONNECT))}) | "
                f"{ms(stage(b, LOCK))} | "
                f"{pcts((b or {}).get('stages', {}).get(HOP, {}), None, ('p50', 'p99'))} | "
                f"{cpu.get('server', 0):.1f} ({cpu.get('server_loop', 0):.1f} + "
                f"{cpu.get('server_threads', 0):.1f}) | {cpu.get('postgres', 0):.1f} |"
            )
        add("")
    return out


def reasons(  # noqa: C901 - linear prose
    runs: list, diag: dict, breakdown: dict, statements: dict | None
) -> list[str]:
    """Why the latency target is missed, in numbers from this run."""
    if not runs:
        return []
    out: list[str] = []
    add = out.append
    r = runs[0]
    low_b = breakdown.get("diag-low") or {}
    st = low_b.get("stages", {})
    thread = (st.get(THREAD) or {}).get("mean")
    busy = stage(breakdown.get("diag-deployed"), THREAD)
    rate = r["rate_target"]
    got = [x["acked_per_s_in_window"] for x in runs if x.get("acked_per_s_in_window")]
    noticed = [x.get("noticed_per_s_in_window") for x in runs]
    closed: dict[str, int] = {}
    for x in runs:
        for k, v in (x.get("visitors_closed_by_server") or {}).items():
            closed[k] = closed.get(k, 0) + v
    add("### Why the latency target is missed")
    add("")
    low, r40 = diag.get("diag-low"), diag.get("diag-rate40")
    met_at = [x for x in (low, r40) if x and (x["watcher"].get("p99") or 1e9) <= P99_TARGET_MS]
    if low:
        add(
            f"As deployed the target holds only at low rates: p99 {dur(low['watcher'].get('p99'))} "
            f"at {low['rate_target']:.0f} msg/s"
            + (
                f", {dur(r40['watcher'].get('p99'), r40['drained_in_s'])} at "
                f"{r40['rate_target']:.0f} msg/s"
                if r40
                else ""
            )
            + f" (target {P99_TARGET_MS} ms"
            + (
                f"; met up to {max(x['rate_target'] for x in met_at):.0f} msg/s of the rates tried"
                if met_at
                else ""
            )
            + f"). At {rate:.0f} msg/s the process gets through "
            + " and ".join(f"{g}" for g in got)
            + " msg/s (runs 1 and 2) and the rest queues: latency grows for as long as the load "
            "lasts (run 1 by 5 s of sending, above), to a minute and more. Four causes, in the "
            "order they bite:"
        )
        add("")
    add(
        "**1. One thread stores every message of the process.** Channels' "
        "`database_sync_to_async` is thread-sensitive and nothing runs a consumer in a "
        "`ThreadSensitiveContext` (Django's ASGI handler does that per HTTP request; Channels "
        "does not per socket), so asgiref runs every such call of every websocket of the process "
        "in one shared thread (`SyncToAsync.single_thread_executor`). A message holds it for all "
        "of `receive_visitor_message`"
        + (
            f" ({dur(busy)} p50 at {rate:.0f} msg/s, {thread:.1f} ms on average at "
            f"{diag['diag-low']['rate_target']:.0f} msg/s)"
            if thread and busy
            else ""
        )
        + ", mostly waiting for PostgreSQL (py-spy: connecting, statements, commits), time no "
        "other message can use; the same thread also runs every socket's dispatch hop (point 2). "
        "So it gets through about "
        + " and ".join(f"{g:.0f}" for g in got)
        + " messages a second, whatever the cores: the process used "
        + " and ".join(f"{x['cpu']['server_cpu_pct']:.0f} %" for x in runs)
        + " of one core in runs 1 and 2: not CPU but this one thread is the limit."
    )
    add("")
    add(
        "**2. Every event for every socket queues in that same thread.** Channels 4.3 "
        "`AsyncConsumer.dispatch` awaits `aclose_old_connections()` — a thread-sensitive "
        "`sync_to_async(close_old_connections)` — before each handler: every frame a visitor "
        "sends, every channel-layer event a socket gets. A visitor's message is published twice "
        "(`agents.live._push`: ticket group and inbox group), so with "
        f"{r['agents']} agent sockets it makes {r['agents'] + 1} deliveries (the watcher's "
        f"ticket-group copy and {r['agents']} inbox-group copies; the watcher drops its own only "
        "after the hop), each a trip through the thread: about "
        f"{rate * (r['agents'] + 2):,.0f} trips a second at {rate:.0f} msg/s, first in first out "
        "behind the messages' database work. An agent socket handles its events one at a time, "
        "so each notice waits for a full turn of that queue: the watching agents received "
        + " and ".join(f"{n}" for n in noticed if n is not None)
        + " notices a second while the visitors were sending (runs 1 and 2); most arrived only "
        "after the sending stopped. Without the hop the step from Redis to the agent's socket "
        f"takes {dur(stage(breakdown.get('diag-nohop'), HOP))} (p50, `no dispatch hop` row)."
    )
    add("")
    pers = diag.get("diag-persistent")
    if st:
        add(
            "**3. Each message opens a PostgreSQL connection and commits twice.** With "
            "`CONN_MAX_AGE=0` (helpdesk/settings.py; right for HTTP under ASGI, see Email) every "
            f"`database_sync_to_async` call connects and disconnects: {st[CONNECT]['mean']:.1f} ms "
            f"of the {thread:.1f} ms in the thread, and "
            f"{(diag['diag-low'].get('cpu_ms_per_message') or {}).get('postgres', 0):.1f} ms of "
            "PostgreSQL CPU per message"
            + (
                f" against {(pers.get('cpu_ms_per_message') or {}).get('postgres', 0):.1f} ms with "
                "persistent connections (`CONN_MAX_AGE=60` row)"
                if pers
                else ""
            )
            + ": on two cores that alone would cap the machine below 200 msg/s. "
            "`receive_visitor_message` also commits twice (the raw payload in `store_raw`, then "
            f"the message in `process_raw`): {st['  commits (both)']['mean']:.1f} ms."
            + (
                f" A follow-up message runs {statements['follow_up']['count']} statements "
                f"({statements['first']['count']} for a conversation's first): "
                f"`{' ; '.join(statements['follow_up']['sequence'])}` "
                "(`bench/widget/statements.py`; what follows the last COMMIT runs after it: the "
                "after-commit subscribers and the push to the visitor's other tabs)."
                if statements
                else ""
            )
        )
        add("")
    follow = statements["follow_up"]["count"] if statements else "its"
    best = diag.get("diag-threads-persistent")
    best_b = breakdown.get("diag-threads-persistent")
    b100 = diag.get("diag-best100")
    if best:
        cpu = best.get("cpu_ms_per_message") or {}
        add(
            "**4. Then one process's CPU, and the GIL.** With all three removed (no hop, a pool "
            "of database threads, persistent connections) the same process gets through "
            f"{best['acked_per_s_in_window']} msg/s of the {best['rate_target']:.0f} offered, its "
            f"CPU at {best['cpu']['server_cpu_pct']:.0f} % of one core: a message costs "
            f"{cpu.get('server', 0):.1f} ms of server CPU ({cpu.get('server_threads', 0):.1f} ms "
            f"in the sync threads: the ORM building and running {follow} statements, the rate "
            "limiter's Redis calls, serializing; "
            f"{cpu.get('server_loop', 0):.1f} ms in the event loop: frames, deflate, "
            f"{r['agents'] + 2} channel-layer deliveries and three publishes), and a Python "
            "process runs Python on one core at a time, so one process tops out near "
            f"{1000 / cpu['server']:.0f} msg/s whatever the machine has. While the sync threads "
            "hold the GIL the event loop waits for it, and the layer sends one PUBLISH at a time "
            "per process and waits for its reply before the next (`RedisPubSubChannelLayer`: "
            "one asyncio lock per Redis host), three per message: `group_send` took "
            f"{dur(stage(best_b, LOCK))} (p50) in that run, against "
            f"{dur(stage(breakdown.get('diag-low'), LOCK))} at 20 msg/s as deployed."
            + (
                f" Even at {b100['rate_target']:.0f} msg/s this server is at its ceiling (CPU "
                f"{b100['cpu']['server_cpu_pct']:.0f} % of one core, "
                f"{(b100.get('cpu_ms_per_message') or {}).get('server', 0):.1f} ms a message): "
                f"`ack` {dur(b100['ack'].get('p50'))} / {dur(b100['ack'].get('p99'))} "
                f"(p50 / p99), notice {dur(b100['watcher'].get('p50'))} / "
                f"{dur(b100['watcher'].get('p99'))}, `group_send` "
                f"{dur(stage(breakdown.get('diag-best100'), LOCK))}."
                if b100
                else ""
            )
        )
        add("")
    if closed:
        add(
            "**Under this overload visitors are disconnected.** uvicorn stops reading a socket "
            "while its app has a frame it has not taken yet (flow control), so for a visitor whose "
            "message waits in the queue the server's keepalive pong goes unread, and after 20 s "
            "(`ws_ping_timeout`) uvicorn closes the socket: "
            + ", ".join(
                f"{v} of {r['conversations'] * len(runs)} visitor sockets closed with `{k}`"
                for k, v in closed.items()
            )
            + " in runs 1 and 2. The widget reconnects and resends with the same client id (stored "
            "once), but this is what a backlog of tens of seconds does to live chats."
        )
        add("")
    return out


def method(conn: dict | None, runs: list) -> list[str]:
    out = ["### Method", ""]
    add = out.append
    add(
        "- Database: a fresh `helpdesk_bench_widget` on the PostgreSQL server (dropped, created, "
        'migrated). One chat inbox from `manage.py create_inbox widget --name "Bench chat" '
        '--team Chat`, its `config["allowed_origins"]` set to `https://shop.bench.example` (the '
        "Origin the client sends); agents from `manage.py create_agent chatNN@bench.example "
        "--team Chat`, set Online, each with a logged-in session (the `django_session` row the "
        "login form leaves) whose `sessionid` cookie its socket sends to `/ws/agent/` with Origin "
        "`http://127.0.0.1:<port>` (`bench/widget/setup.py`)."
    )
    add(
        "- Client: `bench/widget/load.py`, one process (uvloop, the `websockets` client) on the "
        "same two cores. Widget sockets offer permessage-deflate the way browsers do "
        "(`client_max_window_bits`; the server answers with 12-bit windows) and send no pings "
        "(the server pings every 20 s). Times are `time.monotonic()`, one clock for all processes."
    )
    if conn:
        add(
            "- Idle sockets: the server is `manage.py serve` as it is. 20 sockets opened and "
            "closed "
            "to warm up, then the server's RSS (VmRSS in /proc) is the baseline; sockets are "
            "opened "
            f"in steps ({conn['concurrency']} handshakes in flight), each counted once its "
            "`session` "
            "frame has arrived; after each step 5 s to settle, 10 s of idle CPU, then RSS; per "
            "socket "
            "= (RSS − baseline) ÷ sockets open. Then every socket sends its close frame at once; "
            "the bench polls Redis (`PUBSUB CHANNELS asgi*`) until the layer's subscriptions are "
            "back to the baseline (other processes on the machine may hold a few), "
            "reads the server's log for errors, and sends one more visitor's message. Once more "
            "without permessage-deflate, to 2,000."
        )
    if runs:
        r = runs[0]
        add(
            "- Latency: `bench/widget/server.py` runs `manage.py serve`'s command in its own "
            "process "
            "after lifting the message rate limits (`VISITOR_MESSAGES_PER_MINUTE` 20, "
            "`IP_MESSAGES_PER_MINUTE` 60 in channels_in/widgets.py; the limiter still runs and "
            "counts in Redis): the scenario is one message a second per visitor, all from "
            f"127.0.0.1. A fresh server per run. {r['agents']} agent sockets; {r['conversations']} "
            "visitor sockets, each of which has sent a first message and had its `ack` (so its "
            "ticket exists); each agent then watches "
            f'{r["watched_per_agent"]} of the tickets (`{{"type": "watch"}}`, at most 20 a '
            "socket), as an open ticket page does; every agent socket is also in the inbox group "
            f"and hears every message. Then {r['rate_target']:.0f} messages/s in all, round robin "
            f"(each conversation one a second), {r['warmup_s']:.0f} s of warm-up not counted and "
            f"{r['duration_s']:.0f} s measured, sent to a schedule (send lag p99 "
            f"{ms(r['send_lag_ms'].get('p99'))} ms)."
        )
        add(
            "- Latency is the visitor's send → the watching agent's socket receiving "
            '`{"type": "notice", "kind": "message", "ticket": id}`; "at all '
            'agents" is the last of the agent sockets to have it. Notices carry no message id, so '
            "they are matched in order per ticket and socket: one socket sends a conversation's "
            "messages, the consumer handles a socket's frames one after another, each notice is "
            "published after its commit and Redis pub/sub keeps order, so the k-th notice for a "
            "ticket is the k-th message sent to it after logging started (at a quiet moment). A "
            "ticket that got more notices than messages would show the matching is off (none did: "
            "`incomplete_tickets.extra` in bench/out/widget_latency_*.json). `ack` is matched by "
            "client id. After the last send the client waits up to 60 s; what has not arrived "
            "by then counts as slower than anything, and a percentile that falls there reads "
            '"> 60 s". "Got through" = acks received during the sending window ÷ its length.'
        )
        add(
            "- CPU from /proc over the sending window: the server process; PostgreSQL (all its "
            "processes — any database, other work may use it too — plus the backends that exited, "
            "through the postmaster's reaped-children time); Redis; the client; and the rest of "
            "the "
            'machine ("other work").'
        )
        add(
            "- Where the time goes: `bench/widget/server.py --timing` wraps the consumer's "
            "receive, "
            "`receive_visitor_message`, Django's connect and commit, `store_raw`, `process_raw`, "
            "`visitor_groups`, agents.live's publish and helpdesk.live's `_send` at start-up (no "
            "file edited), records time.monotonic() per message and joins them with the client's "
            "by "
            "client id (`bench/widget/breakdown.py`). py-spy 0.4 (`var/bench-tools`) samples the "
            "server at 100 Hz with idle threads (`bench/widget/profile.py` sums it). The variants "
            "`--no-dispatch-hop` and `--db-threads` change the two consumers at start-up; "
            "`CONN_MAX_AGE=60` is the environment setting."
        )
    add("")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--results", type=Path)
    parser.add_argument("--seconds", type=int, default=0)
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", ""))
    parser.add_argument("--restore", type=Path, help="an older RESULTS.md to take the blocks from")
    args = parser.parse_args()
    text = args.out.read_text() if args.out.exists() else "# Benchmarks\n"
    if args.restore:
        old = args.restore.read_text() if args.restore.exists() else ""
        section, summary = block(old, START, END), block(old, SUMMARY_START, SUMMARY_END)
        if not section:
            return
    else:
        section, summary = render(args.results, args.seconds, machine(args.database_url))
    args.out.write_text(splice(text, section, summary))


if __name__ == "__main__":
    main()
