#!/usr/bin/env bash
# Consent Center beside the floor (bench/floor/: bare Flask + SQLAlchemy doing
# the same database work): the same loads on both, in the same run, on SQLite
# and PostgreSQL; prints each figure and its ratio.
# Fixed durations, a timeout on every command, everything it starts is
# stopped on exit; traffic goes to 127.0.0.1 only.
#
#   bench/run.sh                                   # full: 100k subjects, 1M events, both backends
#   BENCH_SUBJECTS=2000 BENCH_EVENTS=20000 BENCH_DURATION=3 BENCH_REPEATS=1 bench/run.sh   # smoke (CI)
#
# Settings: BENCH_BACKENDS ("sqlite postgres"), BENCH_SUBJECTS, BENCH_EVENTS,
# BENCH_DURATION (s per wrk run, 15; each app is first warmed, unrecorded, for
# a third of it: BENCH_WARMUP), BENCH_REPEATS (2), BENCH_WORK
# (/tmp/cc_bench), BENCH_PG_SERVER (postgresql+psycopg://postgres@127.0.0.1:5432),
# CONSENT_FLOOR_DIR (bench/floor; another floor directory with the same
# files — floor_app.py, seed_floor.py, bench_client.py, check.lua — to
# measure against that one instead), BENCH_RESULTS (results file).
# A big base takes long to seed: BENCH_STEP=seed only seeds (it may run
# beside other work), BENCH_STEP=measure measures a base seeded before with
# the same BENCH_WORK and sizes (on an otherwise idle machine); the default
# does both. BENCH_SEED_WORKERS (1) seeds the app's base in that many
# processes, committing every BENCH_SEED_COMMIT_EVERY customers (0: once);
# BENCH_SEED_TIMEOUT bounds each seeding (s). BENCH_WORKERS (2) sets the server's workers for both apps.
# BENCH_PREWARM=1 (PostgreSQL) reads into the host's page cache, just before
# each check run, what a check reads, in both bases alike: every table and
# index but the history (the app's events, receipts, outbox and log; the
# floor's events), as a server answering checks all day holds it; the
# default measures the cache as the seed and the runs before left it.
# BENCH_SERVER (granian) serves the app: granian (one Python thread per worker,
# HTTP in Rust, keep-alive) or gunicorn (sync workers). The floor is measured
# on gunicorn's sync workers, as the reference floor defines it, and on
# BENCH_SERVER too (the check), so the server's share and the app's are told apart.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
FLOOR=${CONSENT_FLOOR_DIR:-$HERE/floor}
[ -f "$FLOOR/floor_app.py" ] || { echo "the floor benchmark is not at $FLOOR (set CONSENT_FLOOR_DIR)" >&2; exit 2; }
FLOOR=$(cd "$FLOOR" && pwd)
export CONSENT_FLOOR_DIR=$FLOOR
WORK=${BENCH_WORK:-/tmp/cc_bench}
BACKENDS=${BENCH_BACKENDS:-"sqlite postgres"}
SUBJECTS=${BENCH_SUBJECTS:-100000}
EVENTS=${BENCH_EVENTS:-1000000}
DURATION=${BENCH_DURATION:-15}
WARMUP=${BENCH_WARMUP:-$(( DURATION / 3 > 1 ? DURATION / 3 : 1 ))}
REPEATS=${BENCH_REPEATS:-2}
BULK_COUNT=$(( SUBJECTS < 100000 ? SUBJECTS : 100000 ))
WORKERS_PER_APP=${BENCH_WORKERS:-2}
SERVER=${BENCH_SERVER:-granian}
case "$SERVER" in granian|gunicorn) ;; *) echo "BENCH_SERVER is granian or gunicorn" >&2; exit 2 ;; esac
STEP=${BENCH_STEP:-all}
case "$STEP" in all|seed|measure) ;; *) echo "BENCH_STEP is all, seed or measure" >&2; exit 2 ;; esac
PG_SERVER=${BENCH_PG_SERVER:-postgresql+psycopg://postgres@127.0.0.1:5432}
PY=${PYTHON:-$ROOT/.venv/bin/python}
PY=$("$PY" -c 'import sys; print(sys.executable)')
FLASK=("$PY" -m flask --app "$ROOT/wsgi.py")
FLOOR_PORT=18765 APP_PORT=18766
mkdir -p "$WORK"
export FLOOR_RESULTS=${BENCH_RESULTS:-$WORK/results-$(date +%Y%m%d-%H%M%S).jsonl}
export FLOOR_SUBJECTS=$SUBJECTS BENCH_SUBJECTS=$SUBJECTS
command -v wrk >/dev/null || { echo "wrk is needed (apt-get install wrk)" >&2; exit 2; }

PIDS=()
cleanup() { for pid in "${PIDS[@]:-}"; do [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; done; return 0; }
trap cleanup EXIT
trap 'exit 130' INT TERM
log() { printf '\n== %s\n' "$*" >&2; }

wait_up() {  # $1 url $2 pid
  local i
  for i in $(seq 1 150); do
    curl -s -o /dev/null "$1" && { WORKERS=$(ps --ppid "$2" -o pid= | xargs | tr ' ' ','); return 0; }
    sleep 0.2
  done
  echo "server did not come up ($1)" >&2; return 1
}

serve() {  # $1 port, then the app spec and env; sets SERVER_PID and WORKERS
  local port=$1; shift
  if [ "${SERVED_BY:-gunicorn}" = granian ]; then
    # --blocking-threads 1: one Python thread per worker, as a sync worker (more only contend for the GIL).
    (cd "${GRANIAN_DIR:-$ROOT}" && exec env "$@" "$PY" -m granian --interface wsgi --workers "$WORKERS_PER_APP" \
      --blocking-threads 1 --host 127.0.0.1 --port "$port" --log-level warning --no-ws "${GRANIAN_APP[@]}") \
      >"$WORK/granian-$port.log" 2>&1 &
  else
    env "$@" "$PY" -m gunicorn -w "$WORKERS_PER_APP" -b "127.0.0.1:$port" --no-control-socket --timeout 300 --log-level warning \
      --error-logfile "$WORK/gunicorn-$port.log" "${GUNICORN_APP[@]}" &
  fi
  SERVER_PID=$!; PIDS+=("$SERVER_PID")
}

stop() { kill -TERM "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; }

# Read just before each check run: this host pages out page-cache pages left
# untouched for about a minute (a DAMON pageout scheme), so a read made once,
# before the exports, would be gone by the app's turn.
warm_for_check() {  # $1 backend $2 floor or app
  [ "${BENCH_PREWARM:-0}" = 1 ] && [ "$1" = postgres ] || return 0
  local base_server=postgresql://${PG_SERVER#postgresql+psycopg://} url=$floor_url cold='^floor_events$'
  [ "$2" = app ] && url=$app_url cold='^(consent_events|receipts|outbox|log_.*)$'
  log "postgres: $2 $(prewarm "$base_server/${url##*/}" "$cold" || echo 'not prewarmed (no pg_prewarm?)')"
}

prewarm() {  # $1 base (libpq URL) $2 tables left cold (a regular expression): read the rest, print its size
  timeout 1800 psql -X -q -At -v ON_ERROR_STOP=1 "$1" <<SQL
CREATE EXTENSION IF NOT EXISTS pg_prewarm;
SELECT 'prewarmed ' || pg_size_pretty(sum(pg_prewarm(c.oid, 'read')) * current_setting('block_size')::bigint)
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  LEFT JOIN pg_index i ON i.indexrelid = c.oid LEFT JOIN pg_class t ON t.oid = i.indrelid
 WHERE n.nspname = 'public' AND c.relkind IN ('r', 'i') AND coalesce(t.relname, c.relname) !~ '$2';
SQL
}

wrk_run() {  # $1 backend $2 test $3 variant $4 lua $5 base
  local rep
  # Unrecorded: pages a base has not read since it was seeded, or that the
  # host took back from the page cache, are read now rather than in a measured run.
  timeout $((WARMUP + 30)) wrk -t1 -c8 -d"${WARMUP}s" --timeout 10s -s "$4" "$5" >/dev/null
  for rep in $(seq 1 "$REPEATS"); do
    timeout $((DURATION + 30)) wrk -t1 -c8 -d"${DURATION}s" --timeout 10s -s "$4" "$5" \
      | "$PY" "$HERE/floor/bench_client.py" wrap --backend "$1" --test "$2" --variant "$3" --rep "$rep"
  done
}

app_py() {  # run Python in the app's context (its settings from the environment)
  (cd "$ROOT" && "$PY" -c "from consent_center import create_app; create_app().app_context().push()
from consent_center.extensions import db
$1")
}
count_events() { app_py 'from consent_center.ledger.chain import count_events; print(count_events(db.session))'; }
count_webhooks() { app_py 'from consent_center.models import WebhookEndpoint; from sqlalchemy import func, select
print(db.session.scalar(select(func.count()).select_from(WebhookEndpoint)))'; }
count_outbox() { app_py 'from consent_center.models import OutboxMessage; from sqlalchemy import func, select
print(db.session.scalar(select(func.count()).select_from(OutboxMessage)))'; }

for backend in $BACKENDS; do
  size=$SUBJECTS-$EVENTS  # every file and database of a base is named by its size
  seeded=$WORK/seeded-$backend-$size
  if [ "$STEP" = measure ] && [ ! -f "$seeded" ]; then
    echo "$backend: no base of $SUBJECTS subjects and $EVENTS events in $WORK: run BENCH_STEP=seed first" >&2; exit 2
  fi
  case $backend in
    sqlite) floor_url="sqlite:///$WORK/floor-$size.sqlite3"; app_url="sqlite:///$WORK/app-$size.sqlite3" ;;
    postgres)
      admin="postgresql://${PG_SERVER#postgresql+psycopg://}/postgres"
      if ! psql -X -q "$admin" -c 'SELECT 1' >/dev/null 2>&1; then
        log "postgres: not reachable at $PG_SERVER, skipped"; continue
      fi
      floor_url="$PG_SERVER/cc_floor_bench_${size/-/_}"; app_url="$PG_SERVER/cc_app_bench_${size/-/_}" ;;
    *) echo "unknown backend $backend" >&2; exit 2 ;;
  esac
  export CONSENT_DATABASE_URL=$app_url CONSENT_SECRET_KEY=bench-secret-key-not-for-production
  # The write load's webhook receiver is on this machine (never delivered to: no worker runs).
  export CONSENT_WEBHOOK_ALLOWED_NETWORKS=127.0.0.0/8
  export CONSENT_RECEIPT_KEY_DIR=$WORK/receipt_keys CONSENT_DATABASE_POOL_SIZE=4 BENCH_IDS=$WORK/ids-$backend-$size.txt

  if [ "$STEP" != measure ]; then
    log "$backend: seeding the floor and the app ($SUBJECTS subjects, ~$EVENTS events)"
    rm -f "$seeded"
    if [ "$backend" = sqlite ]; then
      rm -f "$WORK/app-$size.sqlite3"*
    else
      for db in "cc_floor_bench_${size/-/_}" "cc_app_bench_${size/-/_}"; do
        psql -X -q "$admin" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db"
      done
    fi
    timeout "${BENCH_SEED_TIMEOUT:-900}" "$PY" "$FLOOR/seed_floor.py" --database-url "$floor_url" --subjects "$SUBJECTS" --events "$EVENTS" >&2
    timeout 120 "${FLASK[@]}" db upgrade >&2
    timeout "${BENCH_SEED_TIMEOUT:-7200}" "$PY" "$HERE/seed.py" --subjects "$SUBJECTS" --events "$EVENTS" \
      --workers "${BENCH_SEED_WORKERS:-1}" --commit-every "${BENCH_SEED_COMMIT_EVERY:-0}" >&2
    "${FLASK[@]}" apikey create --name bench --scope consent:read --scope consent:write --scope audit:read \
      | tail -1 > "$WORK/key-$backend-$size"
    app_py 'from consent_center.models import Subject; from sqlalchemy import select
print("\n".join(db.session.scalars(select(Subject.public_id).order_by(Subject.id).limit(2000))))' > "$BENCH_IDS"
    touch "$seeded"
    [ "$STEP" = seed ] && continue
  fi
  KEY=$(cat "$WORK/key-$backend-$size")
  export BENCH_KEY=$KEY
  APP_EVENTS=$(count_events)
  # A fresh base leaves gigabytes of dirty pages: write them out now, not
  # during a measurement (on SQLite, fold the write-ahead log back).
  if [ "$backend" = postgres ]; then
    psql -X -q "$admin" -c CHECKPOINT >/dev/null 2>&1 || log "postgres: CHECKPOINT refused (not a superuser?): measuring as it is"
  else
    "$PY" -c 'import sqlite3, sys; sqlite3.connect(sys.argv[1]).execute("PRAGMA wal_checkpoint(TRUNCATE)")' \
      "$WORK/app-$size.sqlite3"
  fi

  log "$backend: the floor ($WORKERS_PER_APP sync gunicorn workers)"
  GUNICORN_APP=(--chdir "$FLOOR" 'floor_app:create_app()') SERVED_BY=gunicorn
  serve $FLOOR_PORT DATABASE_URL="$floor_url"
  wait_up "http://127.0.0.1:$FLOOR_PORT/floor/check?email=x%40example.com&channel=email" "$SERVER_PID"
  warm_for_check "$backend" floor
  wrk_run "$backend" check "http sync c=8" "$FLOOR/check.lua" "http://127.0.0.1:$FLOOR_PORT"
  timeout 900 "$PY" "$FLOOR/bench_client.py" export --url "http://127.0.0.1:$FLOOR_PORT" --backend "$backend" \
    --variant "http sync" --pids "$WORKERS" --events "$EVENTS" --repeats "$REPEATS"
  mode=(); [ "$backend" = postgres ] && mode=(--mode any)
  [ "$SUBJECTS" -ge 100000 ] && timeout 600 "$PY" "$FLOOR/bench_client.py" bulk --url "http://127.0.0.1:$FLOOR_PORT" \
    --backend "$backend" --variant "http sync" --count 100000 --subjects "$SUBJECTS" --repeats "$REPEATS" "${mode[@]}"
  stop
  if [ "$SERVER" = granian ]; then
    log "$backend: the floor on granian ($WORKERS_PER_APP workers, one thread each)"
    GRANIAN_APP=(--factory 'floor_app:create_app') GRANIAN_DIR=$FLOOR SERVED_BY=granian
    serve $FLOOR_PORT DATABASE_URL="$floor_url"
    wait_up "http://127.0.0.1:$FLOOR_PORT/floor/check?email=x%40example.com&channel=email" "$SERVER_PID"
    warm_for_check "$backend" floor
    wrk_run "$backend" check "granian c=8" "$FLOOR/check.lua" "http://127.0.0.1:$FLOOR_PORT"
    stop
  fi

  log "$backend: Consent Center ($WORKERS_PER_APP $SERVER workers, production settings)"
  GUNICORN_APP=(--chdir "$ROOT" 'wsgi:app') GRANIAN_APP=('consent_center.wsgi:app') GRANIAN_DIR=$ROOT SERVED_BY=$SERVER
  serve $APP_PORT
  wait_up "http://127.0.0.1:$APP_PORT/healthz" "$SERVER_PID"
  warm_for_check "$backend" app
  wrk_run "$backend" check "app c=8" "$HERE/check_app.lua" "http://127.0.0.1:$APP_PORT"
  for format in csv jsonl; do
    timeout 900 "$PY" "$HERE/bench_app.py" export --url "http://127.0.0.1:$APP_PORT" --key "$KEY" --backend "$backend" \
      --format "$format" --pids "$WORKERS" --events "$APP_EVENTS" --repeats "$REPEATS"
  done
  # The bulk check by e-mail and by phone, side by side: 100,000 contacts, or every
  # subject of a smaller base (the smoke run proves the phone form works).
  for by in email phone; do
    timeout 600 "$PY" "$HERE/bench_app.py" bulk --url "http://127.0.0.1:$APP_PORT" --by "$by" \
      --key "$KEY" --backend "$backend" --count "$BULK_COUNT" --subjects "$SUBJECTS" --repeats "$REPEATS"
  done
  # Each change also writes an outbox row, as in production with a webhook
  # registered (nothing listens on port 9: delivery is not measured here).
  [ "$(count_webhooks)" = 0 ] && "${FLASK[@]}" webhook add --url "http://127.0.0.1:9/bench-$backend" --description bench >/dev/null
  before=$(count_events) outbox_before=$(count_outbox)
  timeout $((DURATION + 30)) wrk -t1 -c8 -d"${DURATION}s" --timeout 10s -s "$HERE/write_app.lua" \
    "http://127.0.0.1:$APP_PORT" > "$WORK/writes.txt"
  after=$(count_events) outbox_after=$(count_outbox)
  "$PY" - "$FLOOR_RESULTS" "$backend" "$before" "$after" "$DURATION" "$WORK/writes.txt" \
    "$((outbox_after - outbox_before))" <<'PY'
import json, sys
results, backend, before, after, duration, wrk_out, outbox = sys.argv[1:]
line = next(l for l in open(wrk_out) if l.startswith("BENCHJSON "))
data = json.loads(line[len("BENCHJSON "):])
row = dict(backend=backend, test="writes", variant="app c=8", rep=1, rps=data["rps"], errors=data["errors"],
           p99_ms=data["p99_ms"], changes=int(after) - int(before),
           changes_per_s=round((int(after) - int(before)) / float(duration), 1), outbox_rows=int(outbox))
open(results, "a").write(json.dumps(row) + "\n")
print(json.dumps(row))
PY
  stop
done

[ "$STEP" = seed ] && { log "seeded in $WORK: measure with BENCH_STEP=measure and the same settings"; exit 0; }
"$PY" "$HERE/bench_app.py" report --results "$FLOOR_RESULTS"
