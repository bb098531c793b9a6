#!/usr/bin/env bash
# Acknowledgement latency: ingest of a new ticket's first mail -> the acknowledgement at the
# SMTP server, through one Celery worker (one prefork child) on Redis. Target: p99 <= 2 s.
# Writes bench/out/ack.json and the "Acknowledgements" section of bench/RESULTS.md (only it).
#
#   BENCH_ONLY=ack make bench      (or: bash bench/ack/run.sh)
#
# Environment (all optional):
#   ACK_DATABASE_URL  default postgres://postgres@127.0.0.1:5432/helpdesk_bench_ack (recreated)
#   REDIS_URL         default redis://127.0.0.1:6379/0; required (the broker); emptied
#   BENCH_ACK_COUNT   new tickets at the steady rate (default 300), BENCH_ACK_RATE a second
#                     (default 5), BENCH_ACK_BURST written at once afterwards (default 100)
#
# About 2 minutes.
set -euo pipefail
cd "$(dirname "$0")/../.."

started=$(date +%s)
PY=.venv/bin/python
OUT=bench/out
mkdir -p "$OUT" var/bench-ack
export DATABASE_URL="${ACK_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/helpdesk_bench_ack}"
export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379/0}"
export DEBUG=0 LOG_LEVEL=WARNING

if ! "$PY" -c "import os, redis; redis.from_url(os.environ['REDIS_URL']).ping()" 2>/dev/null; then
  echo "bench: ack needs Redis at $REDIS_URL (the worker's broker)" >&2
  exit 2
fi

"$PY" - <<'PYEOF'
import os
import environ
import psycopg2
import redis
from psycopg2 import sql

db = environ.Env.db_url_config(os.environ["DATABASE_URL"])
server = psycopg2.connect(dbname="postgres", user=db.get("USER") or None,
                          host=db.get("HOST") or None, port=db.get("PORT") or None)
server.autocommit = True
with server.cursor() as cursor:
    cursor.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(db["NAME"])))
    cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(db["NAME"])))
redis.Redis.from_url(os.environ["REDIS_URL"]).flushdb()
PYEOF
"$PY" manage.py migrate --no-input -v0

echo "bench: ack: measuring"
"$PY" -W ignore bench/ack/measure.py --out "$OUT/ack.json" --log var/bench-ack/worker.log \
  --count "${BENCH_ACK_COUNT:-300}" --rate "${BENCH_ACK_RATE:-5}" --burst "${BENCH_ACK_BURST:-100}"
"$PY" bench/ack/report.py --data "$OUT/ack.json" --out bench/RESULTS.md
echo "bench: ack: wrote the Acknowledgements section of bench/RESULTS.md ($(($(date +%s) - started)) s)"
