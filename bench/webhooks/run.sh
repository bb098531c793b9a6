#!/usr/bin/env bash
# The SMS and Messenger webhook bench: signed `POST /inbound/sms|messenger/<key>/`, 8 in flight,
# uvicorn on PostgreSQL with Redis, in the default configuration (1 process, CONN_MAX_AGE=0)
# and the production topology (2 processes; CONN_MAX_AGE=0 and 60). Writes
# bench/out/webhooks*.json and the "Webhooks (SMS and Messenger)" section of bench/RESULTS.md
# (only that section, and its lines in the Summary).
#
#   BENCH_ONLY=webhooks make bench      (or: bash bench/webhooks/run.sh)
#
# Environment (all optional):
#   WEBHOOKS_DATABASE_URL   default postgres://postgres@127.0.0.1:5432/helpdesk_bench_webhooks
#                           (dropped and recreated; "<name>_tpl" is its template copy)
#   WEBHOOKS_REDIS_URL      default redis://127.0.0.1:6379/9; required (events, cache, Celery
#                           broker). A database of its own, not 0: it is emptied before every
#                           run (like the PostgreSQL copy), and the Celery tasks the webhooks queue
#                           (Messenger profile fetches) are counted and deleted after each run, so
#                           no worker ever runs them against another database.
#   BENCH_WEBHOOKS_TICKETS  load data under the inboxes (default 100000 tickets, 3 messages each)
#   BENCH_WEBHOOKS_PORT     default 8393 (PUBLIC_BASE_URL is http://127.0.0.1:<port>)
#   BENCH_WEBHOOKS_SECONDS  measured seconds per run (default 30), after 5 s of warm-up
#   BENCH_WEBHOOKS_ROUNDS   rounds of every channel x configuration (default 2)
#   BENCH_WEBHOOKS_CONFIGS  default "1w 2w 2w-persistent 2w-pooled" (bench/webhooks/bench.py: 1w/2w
#                           = uvicorn processes; -persistent: CONN_MAX_AGE=60; -pooled: psycopg 3's
#                           pool, a diagnosis needing var/bench-webhooks/pool-libs, installed here)
#   BENCH_WEBHOOKS_CHANNELS default "sms messenger" ("test": the bearer-token test channel)
#   BENCH_WEBHOOKS_DIAGNOSIS  1 (default): also the instrumented runs, py-spy profiles, the
#                           in-process statement analysis and a burst of BENCH_WEBHOOKS_BURST
#                           (default 120) requests in flight for 10 s; 0: skip them
#
# About 22 minutes on 2 cores (about 16 without the diagnosis).
set -euo pipefail
cd "$(dirname "$0")/../.."

started=$(date +%s)
PY=.venv/bin/python
WORK=var/bench-webhooks
OUT=bench/out
export DATABASE_URL="${WEBHOOKS_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/helpdesk_bench_webhooks}"
export REDIS_URL="${WEBHOOKS_REDIS_URL:-redis://127.0.0.1:6379/9}"
export DEBUG=0
TICKETS="${BENCH_WEBHOOKS_TICKETS:-100000}"
PORT="${BENCH_WEBHOOKS_PORT:-8393}"
SECONDS_MEASURED="${BENCH_WEBHOOKS_SECONDS:-30}"
ROUNDS="${BENCH_WEBHOOKS_ROUNDS:-2}"
CONFIGS="${BENCH_WEBHOOKS_CONFIGS:-1w 2w 2w-persistent 2w-pooled}"
CHANNELS="${BENCH_WEBHOOKS_CHANNELS:-sms messenger}"
DIAGNOSIS="${BENCH_WEBHOOKS_DIAGNOSIS:-1}"
BURST="${BENCH_WEBHOOKS_BURST:-120}"
export PUBLIC_BASE_URL="http://127.0.0.1:$PORT"
mkdir -p "$WORK" "$OUT"

if ! "$PY" -c "import os, redis; redis.from_url(os.environ['REDIS_URL']).ping()" 2>/dev/null; then
  echo "bench: webhooks needs Redis at $REDIS_URL (the deployed topology)" >&2
  exit 2
fi

echo "bench: webhooks: database ($TICKETS tickets of load data)"
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
    for name in (db["NAME"], db["NAME"] + "_tpl"):
        cursor.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
    cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(db["NAME"])))
EOF
"$PY" manage.py migrate --no-input -v0
load_started=$(date +%s)
"$PY" manage.py generate_load_data --tickets "$TICKETS" --messages-per-ticket 3
echo "$(($(date +%s) - load_started))" >"$WORK/load_seconds"
"$PY" bench/webhooks/setup.py --out "$WORK"

echo "bench: webhooks: signing requests"
for channel in $CHANNELS; do
  "$PY" bench/webhooks/payloads.py --inboxes "$WORK/inboxes.json" --channel "$channel" \
    --count "${BENCH_WEBHOOKS_REQUESTS:-40000}" --base-url "$PUBLIC_BASE_URL" \
    --returning "$WORK/returning.json" --out "$WORK/$channel.pickle"
done

# psycopg 3 with its pool for the "-pooled" configurations (optional: skipped without it).
if [[ "$CONFIGS" == *pooled* ]] && [ ! -d "$WORK/pool-libs/psycopg_pool" ]; then
  .venv/bin/pip install -q --target "$WORK/pool-libs" "psycopg[binary,pool]" \
    || echo "bench: psycopg pool not installed; no pooled configuration" >&2
fi
if [ ! -d "$WORK/pool-libs/psycopg_pool" ]; then
  CONFIGS=$(echo "$CONFIGS" | tr ' ' '\n' | grep -v pooled | tr '\n' ' ')
fi

if [ "$DIAGNOSIS" = 1 ]; then
  if [ ! -x var/bench-tools/bin/py-spy ]; then
    python3 -m venv var/bench-tools && var/bench-tools/bin/pip install -q py-spy \
      || echo "bench: py-spy not installed; no server profile" >&2
  fi
fi

"$PY" -W ignore bench/webhooks/bench.py --work "$WORK" --out "$OUT/webhooks.json" \
  --channels "$CHANNELS" --configs "$CONFIGS" --rounds "$ROUNDS" --seconds "$SECONDS_MEASURED" \
  --port "$PORT" --diagnosis "$DIAGNOSIS" --burst "$([ "$DIAGNOSIS" = 1 ] && echo "$BURST" || echo 0)"

if [ "$DIAGNOSIS" = 1 ]; then
  "$PY" -W ignore bench/webhooks/analysis.py --work "$WORK" --channels "$CHANNELS" \
    --out "$OUT/webhooks_analysis.json"
fi

"$PY" bench/webhooks/report.py --out bench/RESULTS.md --results "$OUT" \
  --seconds $(($(date +%s) - started)) --load-seconds "$(cat "$WORK/load_seconds")"
echo "bench: webhooks: wrote the Webhooks section of bench/RESULTS.md ($(($(date +%s) - started)) s)"
