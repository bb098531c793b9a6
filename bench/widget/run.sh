#!/usr/bin/env bash
# The live chat (widget) bench: idle widget sockets one ASGI process holds and their memory,
# and widget -> agent delivery latency at a paced message rate, on the Redis channel layer.
# Writes bench/out/widget*.json and the "Live chat (widget)" section of bench/RESULTS.md
# (only that section, and its lines in the Summary).
#
#   BENCH_ONLY=widget make bench      (or: bash bench/widget/run.sh)
#
# Environment (all optional):
#   WIDGET_DATABASE_URL   default postgres://postgres@127.0.0.1:5432/helpdesk_bench_widget
#                         (dropped and recreated)
#   REDIS_URL             default redis://127.0.0.1:6379/0; required (the channel layer)
#   BENCH_WIDGET_PORT     default 8391
#   BENCH_WIDGET_STEPS    idle sockets to hold, growing (default 1000,2000,3000,4000,5000)
#   BENCH_WIDGET_RATE     messages/s (default 200) over BENCH_WIDGET_CONVERSATIONS (200), watched
#                         by BENCH_WIDGET_AGENTS agent sockets (10), BENCH_WIDGET_SECONDS (30)
#                         measured after 5 s of warm-up, BENCH_WIDGET_RUNS times (2)
#   BENCH_WIDGET_DIAGNOSIS  1 (default): also the instrumented runs, the py-spy profile and the
#                         variants that locate the time (bench/widget/server.py); 0: skip them
#
# About 17 minutes on 2 cores (9 without the diagnosis runs).
set -euo pipefail
cd "$(dirname "$0")/../.."

started=$(date +%s)
PY=.venv/bin/python
WORK=var/bench-widget
OUT=bench/out
export DATABASE_URL="${WIDGET_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/helpdesk_bench_widget}"
export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379/0}"
export DEBUG=0
PORT="${BENCH_WIDGET_PORT:-8391}"
STEPS="${BENCH_WIDGET_STEPS:-1000,2000,3000,4000,5000}"
RATE="${BENCH_WIDGET_RATE:-200}"
CONVERSATIONS="${BENCH_WIDGET_CONVERSATIONS:-200}"
AGENTS="${BENCH_WIDGET_AGENTS:-10}"
SECONDS_MEASURED="${BENCH_WIDGET_SECONDS:-30}"
RUNS="${BENCH_WIDGET_RUNS:-2}"
DIAGNOSIS="${BENCH_WIDGET_DIAGNOSIS:-1}"
ORIGIN=https://shop.bench.example
mkdir -p "$WORK" "$OUT"
rm -f "$OUT"/widget_*.json "$WORK"/*.log "$WORK"/*.jsonl

if ! "$PY" -c "import os, redis; redis.from_url(os.environ['REDIS_URL']).ping()" 2>/dev/null; then
  echo "bench: widget needs Redis at $REDIS_URL (the deployed channel layer)" >&2
  exit 2
fi
# 5,000 sockets in the client and as many in the server, plus their database connections.
ulimit -n 20000 2>/dev/null || ulimit -n "$(ulimit -Hn)"

echo "bench: widget: database"
"$PY" - <<'EOF'
import os
import environ
import psycopg2
from psycopg2 import sql

db = environ.Env.db_url_config(os.environ["DATABASE_URL"])
server = psycopg2.connect(dbname="postgres", user=db.get("USER") or None,
                          host=db.get("HOST") or None, port=db.get("PORT") or None)
server.autocommit = True
with server.cursor() as cursor:
    cursor.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(db["NAME"])))
    cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(db["NAME"])))
EOF
"$PY" manage.py migrate --no-input -v0
"$PY" bench/widget/setup.py --origin "$ORIGIN" --agents "$AGENTS" --out "$WORK/setup.json"
"$PY" -W ignore bench/widget/statements.py --setup "$WORK/setup.json" \
  --out "$OUT/widget_statements.json" 2>/dev/null

SERVER_PID=""
stop_server() {
  if [ -n "$SERVER_PID" ]; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
  fi
}
trap stop_server EXIT

# start_server LOG [NAME=VALUE...] COMMAND...: one uvicorn process in the background; returns
# once its port is open. env execs the command, so $! is the server process itself.
start_server() {
  local log=$1
  shift
  env "$@" >"$log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 200); do
    if "$PY" -c "import socket; socket.create_connection(('127.0.0.1', $PORT), 0.2)" 2>/dev/null; then
      return 0
    fi
    sleep 0.1
  done
  echo "bench: widget: the server did not start" >&2
  cat "$log" >&2
  exit 1
}

# log_errors LOG NAME: what the server logged beyond its start-up lines, as JSON.
log_errors() {
  "$PY" - "$1" "$OUT/widget_log_$2.json" <<'EOF'
import json, re, sys
lines = open(sys.argv[1], errors="replace").read().splitlines()
noise = re.compile(r"^Helpdesk on |UserWarning: No directory at|mw_instance = middleware")
bad = [l for l in lines if l.strip() and not noise.search(l)]
errors = [l for l in bad if re.search(r"Traceback|ERROR|Error|Exception|Too many", l)]
json.dump({"lines": len(bad), "errors": len(errors), "samples": sorted(set(errors))[:8],
           "too_many_connections": sum("Too many connections" in l for l in bad)},
          open(sys.argv[2], "w"), indent=2)
EOF
}

# 1. Idle sockets: `manage.py serve` exactly as deployed (no change at all).
for variant in deflate plain; do
  if [ "$variant" = deflate ]; then steps=$STEPS; flags=(); else steps=2000; flags=(--no-deflate); fi
  echo "bench: widget: idle sockets ($variant: $steps)"
  start_server "$WORK/server_connections_$variant.log" "$PY" manage.py serve --port "$PORT"
  "$PY" bench/widget/load.py connections --setup "$WORK/setup.json" --port "$PORT" \
    --server-pid "$SERVER_PID" --steps "$steps" "${flags[@]}" \
    --out "$OUT/widget_connections_$variant.json"
  stop_server
  log_errors "$WORK/server_connections_$variant.log" "connections_$variant"
done

# latency NAME RATE SECONDS WARMUP DRAIN [SERVER FLAGS...]: a fresh server, one latency run.
latency() {
  local name=$1 rate=$2 seconds=$3 warmup=$4 drain=$5
  shift 5
  local envs=() flags=()
  for arg in "$@"; do
    case "$arg" in *=*) envs+=("$arg") ;; *) flags+=("$arg") ;; esac
  done
  echo "bench: widget: latency $name ($rate msg/s, ${seconds} s)"
  start_server "$WORK/server_$name.log" "${envs[@]}" "$PY" bench/widget/server.py \
    --port "$PORT" --lift-rate-limits "${flags[@]}"
  local hook=()
  if [ "$name" = diag-deployed ] && [ -x var/bench-tools/bin/py-spy ]; then
    # Wall-clock samples of every thread over the measured window (started by the client
    # when the measured part starts, not during its set-up).
    hook=(--start-hook "var/bench-tools/bin/py-spy record --pid $SERVER_PID --format raw \
--threads --idle --rate 100 --duration $seconds --output $WORK/profile.txt")
  fi
  "$PY" bench/widget/load.py latency --setup "$WORK/setup.json" --port "$PORT" \
    --server-pid "$SERVER_PID" --conversations "$CONVERSATIONS" --agents "$AGENTS" \
    --rate "$rate" --duration "$seconds" --warmup "$warmup" --drain "$drain" \
    --records "$WORK/records_$name.jsonl" --out "$OUT/widget_latency_$name.json" "${hook[@]}"
  stop_server
  log_errors "$WORK/server_$name.log" "$name"
  if [ -s "$WORK/timing_$name.jsonl" ]; then
    "$PY" bench/widget/breakdown.py --server "$WORK/timing_$name.jsonl" \
      --client "$WORK/records_$name.jsonl" --out "$OUT/widget_breakdown_$name.json"
  fi
}

# 2. Latency as deployed (the only change: the per-visitor and per-address message limits are
#    lifted, see bench/widget/server.py), RUNS times, each on a fresh server.
for run in $(seq "$RUNS"); do
  latency "run$run" "$RATE" "$SECONDS_MEASURED" 5 60
done

# 3. Where the time goes: instrumented runs (server.py --timing), a py-spy profile, and the
#    same load with a change each (no code is edited: server.py applies it at start-up).
if [ "$DIAGNOSIS" = 1 ]; then
  if [ ! -x var/bench-tools/bin/py-spy ]; then
    python3 -m venv var/bench-tools && var/bench-tools/bin/pip install -q py-spy \
      || echo "bench: py-spy not installed; no server profile" >&2
  fi
  # Lower rates: as deployed at 20 and 40 msg/s; all three changes at 100.
  latency diag-low 20 20 3 30 --timing "$WORK/timing_diag-low.jsonl"
  latency diag-rate40 40 20 3 30 --timing "$WORK/timing_diag-rate40.jsonl"
  latency diag-deployed "$RATE" 20 3 30 --timing "$WORK/timing_diag-deployed.jsonl"
  if [ -s "$WORK/profile.txt" ]; then
    python3 bench/widget/profile.py "$WORK/profile.txt" --out "$OUT/widget_profile.json" >/dev/null
  fi
  latency diag-persistent "$RATE" 20 3 30 CONN_MAX_AGE=60 \
    --timing "$WORK/timing_diag-persistent.jsonl"
  latency diag-nohop "$RATE" 20 3 30 --no-dispatch-hop --timing "$WORK/timing_diag-nohop.jsonl"
  latency diag-threads "$RATE" 20 3 30 --no-dispatch-hop --db-threads \
    --timing "$WORK/timing_diag-threads.jsonl"
  latency diag-threads-persistent "$RATE" 20 3 30 CONN_MAX_AGE=60 --no-dispatch-hop \
    --db-threads --timing "$WORK/timing_diag-threads-persistent.jsonl"
  latency diag-best100 100 20 3 30 CONN_MAX_AGE=60 --no-dispatch-hop --db-threads \
    --timing "$WORK/timing_diag-best100.jsonl"
fi

"$PY" bench/widget/report.py --out bench/RESULTS.md --results "$OUT" \
  --seconds $(($(date +%s) - started)) --database-url "$DATABASE_URL"
echo "bench: widget: wrote the Live chat (widget) section of bench/RESULTS.md ($(($(date +%s) - started)) s)"
