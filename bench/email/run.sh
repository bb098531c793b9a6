#!/usr/bin/env bash
# The email channel bench: parse time, end-to-end webhook ingest, django-helpdesk's import.
# Writes bench/out/email*.json and the "Email" section of bench/RESULTS.md (only that section).
#
#   BENCH_ONLY=email make bench      (or: bash bench/email/run.sh)
#
# Environment (all optional):
#   EMAIL_DATABASE_URL  default postgres://postgres@127.0.0.1:5432/helpdesk_bench_email
#                       (dropped and recreated; "<name>_tpl" is its template copy)
#   DJHD_DATABASE_URL   default postgres://postgres@127.0.0.1:5432/helpdesk_bench_djhd
#   REDIS_URL           default redis://127.0.0.1:6379/0; required (channel layer, broker)
#   BENCH_EMAIL_COUNT   generated mails (default 2000); BENCH_EMAIL_ROUNDS rounds per server
#                       configuration (default 2); BENCH_EMAIL_WORKERS (default "1 2");
#   BENCH_EMAIL_VARIANTS  default "as-configured persistent pooled" (see bench/email/e2e.py)
#   DJHD_VERSION        the django-helpdesk release to compare with (default 2.6.1, pinned)
#
# About 11 minutes on 2 cores; the first run also builds var/bench-djhelpdesk/venv (~30 s).
set -euo pipefail
cd "$(dirname "$0")/../.."

started=$(date +%s)
PY=.venv/bin/python
WORK=var/bench-email
OUT=bench/out
EMAIL_DATABASE_URL="${EMAIL_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/helpdesk_bench_email}"
DJHD_DATABASE_URL="${DJHD_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/helpdesk_bench_djhd}"
export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379/0}"
COUNT="${BENCH_EMAIL_COUNT:-2000}"
ROUNDS="${BENCH_EMAIL_ROUNDS:-2}"
WORKERS="${BENCH_EMAIL_WORKERS:-1 2}"
VARIANTS="${BENCH_EMAIL_VARIANTS:-as-configured persistent pooled}"
DJHD_VERSION="${DJHD_VERSION:-2.6.1}"
DJHD_DIR=var/bench-djhelpdesk
DJHD_PY="$DJHD_DIR/venv/bin/python"
mkdir -p "$WORK" "$OUT"

if ! "$PY" -c "import os, redis; redis.from_url(os.environ['REDIS_URL']).ping()" 2>/dev/null; then
  echo "bench: email needs Redis at $REDIS_URL (the deployed topology)" >&2
  exit 2
fi

echo "bench: email: generating $COUNT mails"
python3 bench/email/generate.py --out "$WORK/mails" --count "$COUNT" --seed 2026 \
  --summary "$OUT/email_mails.json" >/dev/null
python3 bench/email/generate.py --out "$WORK/warm" --count 600 --seed 7 >/dev/null

echo "bench: email: parse_email timing"
"$PY" bench/email/parse_timing.py --out "$OUT/email_parse.json" \
  --set corpus=tests/channels_in/email_corpus/mails --set "generated=$WORK/mails"

# Tools outside our virtualenv: py-spy (the server profile) and psycopg 3 with its pool
# (the "pooled" variant). Both optional: without them those parts are skipped.
if [ ! -x var/bench-tools/bin/py-spy ]; then
  python3 -m venv var/bench-tools && var/bench-tools/bin/pip install -q py-spy \
    || echo "bench: py-spy not installed; no server profile" >&2
fi
if [ ! -d "$WORK/pool-libs/psycopg_pool" ]; then
  .venv/bin/pip install -q --target "$WORK/pool-libs" "psycopg[binary,pool]" \
    || echo "bench: psycopg pool not installed; no pooled variant" >&2
fi

echo "bench: email: end to end (variants: $VARIANTS; workers: $WORKERS; $ROUNDS rounds)"
DATABASE_URL="$EMAIL_DATABASE_URL" MEDIA_ROOT="$PWD/$WORK/media" "$PY" -W ignore bench/email/e2e.py \
  --mails "$WORK/mails" --warm-mails "$WORK/warm" --out "$OUT/email_e2e.json" \
  --rounds "$ROUNDS" --workers "$WORKERS" --variants "$VARIANTS" --log "$WORK/server.log"

echo "bench: email: django-helpdesk $DJHD_VERSION"
if [ ! -x "$DJHD_PY" ] || ! "$DJHD_PY" -c "import importlib.metadata as m, sys; \
    sys.exit(m.version('django-helpdesk') != '$DJHD_VERSION')" 2>/dev/null; then
  rm -rf "$DJHD_DIR/venv"
  python3 -m venv "$DJHD_DIR/venv"
  "$DJHD_DIR/venv/bin/pip" install -q "django-helpdesk==$DJHD_VERSION" psycopg2-binary
fi
DJHD_DATABASE_URL="$DJHD_DATABASE_URL" "$PY" - <<'EOF'
import os
import environ
import psycopg2
from psycopg2 import sql

db = environ.Env.db_url_config(os.environ["DJHD_DATABASE_URL"])
server = psycopg2.connect(dbname="postgres", user=db.get("USER") or None,
                          host=db.get("HOST") or None, port=db.get("PORT") or None)
server.autocommit = True
with server.cursor() as cursor:
    cursor.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(db["NAME"])))
    cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(db["NAME"])))
EOF
rm -rf "$DJHD_DIR/media" "$DJHD_DIR/maildir"
# Its own interpreter and its own project directory only: our package is also `helpdesk`.
ROOT="$PWD"
(
  cd bench/email/djhelpdesk_project
  export DJHD_DATABASE_URL DJHD_WORK_DIR="$ROOT/$DJHD_DIR" PYTHONPATH=
  "$ROOT/$DJHD_PY" manage.py migrate --no-input -v0
  "$ROOT/$DJHD_PY" import_mails.py --mails "$ROOT/$WORK/mails" --warmup-mails "$ROOT/$WORK/warm" \
    --inbox-dir "$ROOT/$DJHD_DIR/maildir" --out "$ROOT/$OUT/email_djhelpdesk.json"
)

"$PY" bench/email/combine.py --out "$OUT/email.json" --seconds $(($(date +%s) - started)) \
  --database-url "$EMAIL_DATABASE_URL" --mails "$OUT/email_mails.json" \
  --parse "$OUT/email_parse.json" --e2e "$OUT/email_e2e.json" \
  --djhelpdesk "$OUT/email_djhelpdesk.json"
"$PY" bench/report.py --out bench/RESULTS.md --email "$OUT/email.json"
echo "bench: email: wrote the Email section of bench/RESULTS.md ($(($(date +%s) - started)) s)"
