#!/usr/bin/env bash
# The write load of bench/run.sh alone (bench/write_app.lua: 8 connections
# flipping seeded subjects' newsletter through the API, a webhook registered
# so each change also writes its outbox row), for two checkouts alternated
# A/B/A/B on one base: did a change move the write path?
#
#   bench/write_ab.sh /work/wt-before /work/main        # A, then B, BENCH_ROUNDS times
#
# The base is migrated and seeded with this checkout's migrations and seed
# (bench/seed.py); both checkouts must run on that schema (a checkout older
# by migrations that only add tables does). Settings: BENCH_BACKENDS
# ("sqlite postgres"), BENCH_SUBJECTS (5000), BENCH_EVENTS (50000),
# BENCH_DURATION (10 s a run, after a 2 s unrecorded warm-up), BENCH_ROUNDS
# (3), BENCH_WORKERS (2 sync gunicorn workers), BENCH_WORK (/tmp/cc_write_ab),
# BENCH_PG_SERVER (postgresql+psycopg://postgres@127.0.0.1:5432; the base is
# a database of its own there, dropped at the end). One JSON line a run on
# stdout. Everything it starts is stopped on exit; traffic stays on 127.0.0.1.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
[ $# -eq 2 ] || { echo "usage: $0 CHECKOUT_A CHECKOUT_B" >&2; exit 2; }
A=$(cd "$1" && pwd) B=$(cd "$2" && pwd)
WORK=${BENCH_WORK:-/tmp/cc_write_ab}
BACKENDS=${BENCH_BACKENDS:-"sqlite postgres"}
SUBJECTS=${BENCH_SUBJECTS:-5000}
EVENTS=${BENCH_EVENTS:-50000}
DURATION=${BENCH_DURATION:-10}
ROUNDS=${BENCH_ROUNDS:-3}
WORKERS_PER_APP=${BENCH_WORKERS:-2}
PG_SERVER=${BENCH_PG_SERVER:-postgresql+psycopg://postgres@127.0.0.1:5432}
PY=${PYTHON:-$ROOT/.venv/bin/python}
PY=$("$PY" -c 'import sys; print(sys.executable)')
PORT=18767
command -v wrk >/dev/null || { echo "wrk is needed (apt-get install wrk)" >&2; exit 2; }
mkdir -p "$WORK"

SERVER_PID=
DROP=()
cleanup() {
  [ -n "$SERVER_PID" ] && kill -TERM "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
  for url in "${DROP[@]:-}"; do [ -n "$url" ] && psql -X -q "$url" -c "DROP DATABASE IF EXISTS cc_write_ab WITH (FORCE)"; done
  return 0
}
trap cleanup EXIT
trap 'exit 130' INT TERM
log() { printf '== %s\n' "$*" >&2; }

app_py() {  # $1 checkout, $2 Python run in its app's context
  (cd "$1" && "$PY" -c "from consent_center import create_app; create_app().app_context().push()
from consent_center.extensions import db
$2")
}
count() { app_py "$ROOT" "from sqlalchemy import func, select; from consent_center.models import $1
print(db.session.scalar(select(func.count()).select_from($1)))"; }

run_once() {  # $1 backend $2 label $3 checkout $4 round
  (cd "$3" && exec "$PY" -m gunicorn -w "$WORKERS_PER_APP" -b "127.0.0.1:$PORT" --no-control-socket --timeout 300 \
    --log-level warning --error-logfile "$WORK/gunicorn.log" wsgi:app) &
  SERVER_PID=$!
  local i
  for i in $(seq 1 150); do curl -s -o /dev/null "http://127.0.0.1:$PORT/healthz" && break; sleep 0.2; done
  timeout 40 wrk -t1 -c8 -d2s --timeout 10s -s "$HERE/write_app.lua" "http://127.0.0.1:$PORT" >/dev/null
  local before outbox_before after outbox_after load
  before=$(count ConsentEvent) outbox_before=$(count OutboxMessage)
  timeout $((DURATION + 30)) wrk -t1 -c8 -d"${DURATION}s" --timeout 10s -s "$HERE/write_app.lua" \
    "http://127.0.0.1:$PORT" > "$WORK/writes.txt"
  load=$(cut -d' ' -f1 /proc/loadavg)
  after=$(count ConsentEvent) outbox_after=$(count OutboxMessage)
  kill -TERM "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=
  "$PY" - "$1" "$2" "$(git -C "$3" rev-parse --short HEAD)" "$4" "$before" "$after" "$DURATION" \
    "$((outbox_after - outbox_before))" "$load" "$WORK/writes.txt" <<'PY'
import json, sys
backend, label, commit, rnd, before, after, duration, outbox, load, wrk_out = sys.argv[1:]
line = next(l for l in open(wrk_out) if l.startswith("BENCHJSON "))
data = json.loads(line[len("BENCHJSON "):])
changes = int(after) - int(before)
print(json.dumps(dict(backend=backend, code=label, commit=commit, round=int(rnd), rps=data["rps"],
                      errors=data["errors"], p99_ms=data["p99_ms"], changes=changes,
                      changes_per_s=round(changes / float(duration), 1), outbox_rows=int(outbox),
                      load_1min=float(load))), flush=True)
PY
}

for backend in $BACKENDS; do
  case $backend in
    sqlite) url="sqlite:///$WORK/base.sqlite3"; rm -f "$WORK"/base.sqlite3* ;;
    postgres)
      admin="postgresql://${PG_SERVER#postgresql+psycopg://}/postgres"
      psql -X -q "$admin" -c "DROP DATABASE IF EXISTS cc_write_ab WITH (FORCE)" -c "CREATE DATABASE cc_write_ab"
      DROP+=("$admin")
      url="$PG_SERVER/cc_write_ab" ;;
    *) echo "unknown backend $backend" >&2; exit 2 ;;
  esac
  export CONSENT_DATABASE_URL=$url CONSENT_SECRET_KEY=bench-secret-key-not-for-production
  export CONSENT_WEBHOOK_ALLOWED_NETWORKS=127.0.0.0/8 CONSENT_DATABASE_POOL_SIZE=4
  export CONSENT_RECEIPT_KEY_DIR=$WORK/receipt_keys CONSENT_CHECKPOINT_KEY_DIR=$WORK/checkpoint_keys
  export BENCH_IDS=$WORK/ids-$backend.txt
  log "$backend: seeding $SUBJECTS subjects, ~$EVENTS events"
  (cd "$ROOT" && timeout 120 "$PY" -m flask --app wsgi db upgrade >&2)
  (cd "$ROOT" && timeout 3600 "$PY" bench/seed.py --subjects "$SUBJECTS" --events "$EVENTS" >&2)
  BENCH_KEY=$(cd "$ROOT" && "$PY" -m flask --app wsgi apikey create --name bench --scope consent:write | tail -1)
  export BENCH_KEY
  (cd "$ROOT" && "$PY" -m flask --app wsgi webhook add --url "http://127.0.0.1:9/bench-$backend" --description bench >/dev/null)
  app_py "$ROOT" 'from consent_center.models import Subject; from sqlalchemy import select
print("\n".join(db.session.scalars(select(Subject.public_id).order_by(Subject.id).limit(2000))))' > "$BENCH_IDS"
  for round in $(seq 1 "$ROUNDS"); do
    run_once "$backend" A "$A" "$round"
    run_once "$backend" B "$B" "$round"
  done
done
