#!/usr/bin/env bash
# Extract the messages, merge them into the fr/nl/en catalogs, fill them
# from an optional JSON table {"msgid": {"fr": "...", "nl": "..."}}, and
# compile. English catalogs are filled with the msgid itself.
#   scripts/i18n.sh [new-translations.json]
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python}
pot=$(mktemp --suffix=.pot)
pybabel extract -F babel.cfg -k _l -k lazy_gettext --omit-header -o "$pot" . >/dev/null 2>&1
"$PY" scripts/i18n_fill.py "$pot" consent_center/translations "${1:-/dev/null}"
pybabel compile -d consent_center/translations >/dev/null 2>&1
rm -f "$pot"
