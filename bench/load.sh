#!/usr/bin/env bash
# Load test on PostgreSQL (bench/load.py): gunicorn with several workers,
# customers saving preferences, one-click unsubscribes and API checks for
# LOAD_DURATION seconds (60 by default); zero errors and zero lost changes
# or it exits 1. Makes and drops its own database on LOAD_DATABASE_SERVER.
set -euo pipefail
cd "$(dirname "$0")/.."
python=.venv/bin/python
[ -x "$python" ] || python=python3
exec "$python" bench/load.py "$@"
