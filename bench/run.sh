#!/usr/bin/env bash
# make bench: generate load data on PostgreSQL, measure, write bench/RESULTS.md.
#
# Environment (all optional):
#   DATABASE_URL   default postgres://postgres@127.0.0.1:5432/helpdesk_bench, created if missing
#   BENCH_SCALE    ticket counts to measure, growing, e.g. "100k 1m" (default) or "100k"
#   BENCH_FRESH    1 (default): drop and recreate the bench database first, so figures are
#                  comparable run to run; 0: keep it and only top up to each scale
#   BENCH_RUNS     timed requests per figure (default 200)
#   BENCH_MESSAGES_PER_TICKET  average messages per ticket (default 3)
#   REDIS_URL      default redis://127.0.0.1:6379/0 (the PostgreSQL topology has Redis: the
#                  live push after each ingest goes through it); empty: in-memory layer
#   BENCH_ONLY     email: only the email channel bench (bench/email/run.sh, about 11 minutes);
#                  widget: only the live chat bench (bench/widget/run.sh, about 17 minutes:
#                  idle sockets, widget -> agent latency, and its diagnosis runs; about 9 with
#                  BENCH_WIDGET_DIAGNOSIS=0);
#                  webhooks: only the SMS and Messenger webhook bench (bench/webhooks/run.sh,
#                  about 22 minutes; about 16 with BENCH_WEBHOOKS_DIAGNOSIS=0);
#                  core: only the load-data part; unset: all four, email, widget, then webhooks
#
# About 7 minutes at "100k", 16 at "100k 1m" on 2 cores (3 of them generating 1M tickets);
# unset BENCH_ONLY adds the email, widget and webhook benches: about 67 minutes in all.
set -euo pipefail
cd "$(dirname "$0")/.."

case "${BENCH_ONLY:-}" in
  email) exec bash bench/email/run.sh ;;
  widget) exec bash bench/widget/run.sh ;;
  webhooks) exec bash bench/webhooks/run.sh ;;
  # Acknowledgement latency through one worker on Redis (bench/ack/run.sh, about 2 minutes);
  # not part of the unset run.
  ack) exec bash bench/ack/run.sh ;;
  core | all | "") ;;
  *) echo "bench: BENCH_ONLY must be email, widget, webhooks, ack, core or unset (got $BENCH_ONLY)" >&2
    exit 2 ;;
esac

PY=.venv/bin/python
export DATABASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/helpdesk_bench}"
export REDIS_URL="${REDIS_URL-redis://127.0.0.1:6379/0}"
if [ -n "$REDIS_URL" ] && ! "$PY" -c "import os, redis; redis.from_url(os.environ['REDIS_URL']).ping()" \
    2>/dev/null; then
  echo "bench: no Redis at $REDIS_URL, using the in-memory channel layer" >&2
  REDIS_URL=""
fi
export DEBUG=0
SCALES="${BENCH_SCALE:-100k 1m}"
FRESH="${BENCH_FRESH:-1}"
PER_TICKET="${BENCH_MESSAGES_PER_TICKET:-3}"
OUT=bench/out
mkdir -p "$OUT"

case "$DATABASE_URL" in
  postgres://* | postgresql://* | pgsql://*) ;;
  *) echo "bench: DATABASE_URL must point at PostgreSQL (got $DATABASE_URL)" >&2; exit 2 ;;
esac

# Create (or recreate) the bench database through the server's maintenance database.
BENCH_FRESH="$FRESH" "$PY" - <<'EOF'
import os
import environ
import psycopg2
from psycopg2 import sql

db = environ.Env.db_url_config(os.environ["DATABASE_URL"])
name = db["NAME"]
server = psycopg2.connect(
    dbname="postgres", user=db.get("USER") or None, password=db.get("PASSWORD") or None,
    host=db.get("HOST") or None, port=db.get("PORT") or None,
)
server.autocommit = True
with server.cursor() as cursor:
    cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
    exists = cursor.fetchone() is not None
    if exists and os.environ["BENCH_FRESH"] == "1":
        print(f"bench: dropping database {name}")
        cursor.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))
        exists = False
    if not exists:
        print(f"bench: creating database {name}")
        cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
EOF

"$PY" manage.py migrate --no-input -v0

results=()
for scale in $SCALES; do
  case "$scale" in
    *[kK]) tickets=$(( ${scale%[kK]} * 1000 )) ;;
    *[mM]) tickets=$(( ${scale%[mM]} * 1000000 )) ;;
    *) tickets=$scale ;;
  esac
  echo "bench: == $scale: $tickets tickets =="
  started=$(date +%s)
  "$PY" manage.py generate_load_data --tickets "$tickets" --messages-per-ticket "$PER_TICKET" \
    --top-up
  generated=$(( $(date +%s) - started ))
  "$PY" -W ignore bench/measure.py --label "$scale" --out "$OUT/$scale.json" \
    --generation-seconds "$generated"
  results+=("$OUT/$scale.json")
done

# bench/report.py rewrites the file and keeps only the Email section: keep the widget and
# webhook ones too.
previous="$OUT/RESULTS.previous.md"
if [ -f bench/RESULTS.md ]; then cp bench/RESULTS.md "$previous"; fi
"$PY" bench/report.py --out bench/RESULTS.md "${results[@]}"
"$PY" bench/widget/report.py --out bench/RESULTS.md --restore "$previous"
"$PY" bench/webhooks/report.py --out bench/RESULTS.md --restore "$previous"
echo "bench: wrote bench/RESULTS.md"

if [ "${BENCH_ONLY:-}" != core ]; then
  bash bench/email/run.sh
  bash bench/widget/run.sh
  bash bench/webhooks/run.sh
fi
