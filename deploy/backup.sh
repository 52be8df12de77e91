#!/bin/bash
# Back up Consent Center: the database, then the signing keys and the proofs (docs/deploy.md,
# "Backups"). Installed as /opt/consent-center/bin/backup.sh; run by consent-center-backup.timer,
# or by hand: `consent-center backup`. Reads the settings of /etc/consent-center/env from the
# environment, writes CONSENT_BACKUP_DIR/<UTC time>/ and prints its path; keeps the newest
# CONSENT_BACKUP_KEEP backups. It never holds the secret key or the suppression salt: those live
# in /etc/consent-center/env, kept apart (docs/deploy.md).
set -euo pipefail
umask 077

instance=${CONSENT_INSTANCE_PATH:?CONSENT_INSTANCE_PATH is not set (see /etc/consent-center/env)}
database=${CONSENT_DATABASE_URL:-sqlite:///$instance/consent_center.sqlite3}
receipt_keys=${CONSENT_RECEIPT_KEY_DIR:-$instance/receipt_keys}
checkpoint_keys=${CONSENT_CHECKPOINT_KEY_DIR:-$instance/checkpoint_keys}
backups=${CONSENT_BACKUP_DIR:-/var/backups/consent-center}
keep=${CONSENT_BACKUP_KEEP:-14}
python=${CONSENT_PYTHON:-/opt/consent-center/venv/bin/python}

target=$backups/$(date -u +%Y%m%dT%H%M%SZ)
partial=$target.partial
if [ -e "$target" ]; then echo "backup: $target exists already" >&2; exit 1; fi
mkdir -p "$partial"
trap 'rm -rf "$partial"' EXIT

# 1. The database first: a key made after this moment signed nothing the copy holds, so the
#    keys copied next verify every receipt and checkpoint in it.
case $database in
  sqlite:///*)
    # SQLite's online backup API: a consistent copy while the app writes (as sqlite3's .backup).
    "$python" - "${database#sqlite:///}" "$partial/database.sqlite3" <<'EOF'
import sqlite3
import sys

source = sqlite3.connect(sys.argv[1], timeout=30)
copy = sqlite3.connect(sys.argv[2])
source.backup(copy)
source.close()
checked = copy.execute("PRAGMA integrity_check").fetchone()[0]
copy.close()
if checked != "ok":
    sys.exit(f"backup: the copy fails SQLite's integrity check: {checked}")
EOF
    ;;
  postgresql*://*)
    # pg_dump's custom format (one consistent snapshot); pg_restore reads it. libpq wants
    # postgresql:// where SQLAlchemy says postgresql+psycopg://.
    pg_dump --format=custom --no-owner --no-privileges --file="$partial/database.pgdump" \
      "$(printf '%s' "$database" | sed -E 's/^postgresql\+[a-z0-9_]+:/postgresql:/')"
    ;;
  *)
    echo "backup: cannot back up CONSENT_DATABASE_URL of this kind: ${database%%:*}" >&2; exit 1 ;;
esac

# 2. The keys and the proofs staff attached: receipts and checkpoints verify only against these
#    keys, and nothing can make them again.
copy_folder() {
  if [ -d "$1" ]; then
    cp -R --preserve=mode,timestamps "$1" "$partial/$2"
  else
    echo "backup: no $2 folder at $1 (nothing signed yet, or the key is a setting)" >&2
  fi
}
copy_folder "$receipt_keys" receipt_keys
copy_folder "$checkpoint_keys" checkpoint_keys
copy_folder "$instance/proofs" proofs

# 3. A checksum of every file, then the folder takes its final name: a backup without
#    .partial is complete.
(cd "$partial" && find . -type f ! -name SHA256SUMS -print0 | sort -z | xargs -0 -r sha256sum > SHA256SUMS)
mv "$partial" "$target"
trap - EXIT
echo "$target"

# 4. The newest $keep are kept.
find "$backups" -mindepth 1 -maxdepth 1 -type d -name '2*Z' | sort | head -n "-$keep" | xargs -r rm -rf
