#!/bin/bash
# Restore a Consent Center backup made by backup.sh (docs/deploy.md, "Restoring"):
#   consent-center restore /var/backups/consent-center/20270105T031000Z
# into the places the settings name (CONSENT_DATABASE_URL or the instance folder's SQLite
# file, the key folders, proofs/). Stop the services first. It restores into empty places
# only: move the old database and folders aside (or create an empty PostgreSQL database)
# before. Then: `consent-center db upgrade` and `consent-center ledger verify`.
set -euo pipefail
umask 077

backup=${1:?usage: restore.sh BACKUP_FOLDER}
instance=${CONSENT_INSTANCE_PATH:?CONSENT_INSTANCE_PATH is not set (see /etc/consent-center/env)}
database=${CONSENT_DATABASE_URL:-sqlite:///$instance/consent_center.sqlite3}
receipt_keys=${CONSENT_RECEIPT_KEY_DIR:-$instance/receipt_keys}
checkpoint_keys=${CONSENT_CHECKPOINT_KEY_DIR:-$instance/checkpoint_keys}

fail() { echo "restore: $*" >&2; exit 1; }
if [ ! -f "$backup/SHA256SUMS" ]; then fail "$backup is no complete backup (no SHA256SUMS)"; fi
(cd "$backup" && sha256sum --check --quiet --strict SHA256SUMS) || fail "$backup: a file does not match its checksum"

# Refuse, before changing anything, to overwrite what is there.
not_empty() { [ -e "$1" ] && [ -n "$(ls -A "$1" 2>/dev/null || echo file)" ]; }
for name in receipt_keys checkpoint_keys proofs; do
  case $name in receipt_keys) place=$receipt_keys ;; checkpoint_keys) place=$checkpoint_keys ;; *) place=$instance/proofs ;; esac
  if [ -d "$backup/$name" ] && not_empty "$place"; then fail "$place is not empty: move it aside first"; fi
done
case $database in
  sqlite:///*)
    file=${database#sqlite:///}
    if [ ! -f "$backup/database.sqlite3" ]; then fail "the backup holds no SQLite database, and CONSENT_DATABASE_URL is SQLite"; fi
    if [ -e "$file" ]; then fail "$file exists: move it (and its -wal, -shm files) aside first"; fi
    ;;
  postgresql*://*)
    if [ ! -f "$backup/database.pgdump" ]; then fail "the backup holds no PostgreSQL dump, and CONSENT_DATABASE_URL is PostgreSQL"; fi
    ;;
  *) fail "cannot restore into CONSENT_DATABASE_URL of this kind: ${database%%:*}" ;;
esac

mkdir -p "$instance"
case $database in
  sqlite:///*)
    mkdir -p "$(dirname "$file")"
    cp "$backup/database.sqlite3" "$file.restoring"
    mv "$file.restoring" "$file"
    ;;
  postgresql*://*)
    # Into an empty database; one transaction: all of it or nothing.
    pg_restore --no-owner --no-privileges --exit-on-error --single-transaction \
      --dbname="$(printf '%s' "$database" | sed -E 's/^postgresql\+[a-z0-9_]+:/postgresql:/')" "$backup/database.pgdump"
    ;;
esac
restore_folder() {
  if [ -d "$backup/$1" ]; then
    mkdir -p "$(dirname "$2")"
    rm -rf "$2"  # empty (checked above)
    cp -R --preserve=mode,timestamps "$backup/$1" "$2"
  fi
}
restore_folder receipt_keys "$receipt_keys"
restore_folder checkpoint_keys "$checkpoint_keys"
restore_folder proofs "$instance/proofs"
echo "restored $backup; next: consent-center db upgrade && consent-center ledger verify"
