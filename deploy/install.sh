#!/bin/bash
# Install or upgrade Consent Center on a Debian or Ubuntu server (docs/deploy.md, steps 2 to 7):
#   sudo deploy/install.sh dist/consent_center-0.1.0-py3-none-any.whl
# The first run installs and writes /etc/consent-center/env, then stops so that you edit it.
# Later runs (a newer wheel: an upgrade) install it, migrate the database and restart.
# It never overwrites the settings or an nginx site you edited.
set -euo pipefail
wheel=${1:?usage: install.sh WHEEL (python -m build --wheel in a checkout makes one)}
here=$(cd "$(dirname "$0")" && pwd)
prefix=/opt/consent-center
settings=/etc/consent-center/env

fail() { echo "install.sh: $*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || fail "run it as root (sudo)"
[ -f "$wheel" ] || fail "no wheel at $wheel"
for tool in python3 systemctl runuser useradd; do
  command -v "$tool" >/dev/null || fail "$tool is missing"
done
python3 -c 'import ensurepip, venv' 2>/dev/null || fail "python3-venv is missing: apt-get install python3-venv"
command -v nginx >/dev/null || echo "install.sh: nginx is missing (apt-get install nginx): the site is installed anyway" >&2

# 1. The service user, its folder (the instance folder) and the backups' folder.
if ! getent passwd consent-center >/dev/null; then
  useradd --system --user-group --home-dir /var/lib/consent-center --no-create-home \
    --shell /usr/sbin/nologin consent-center
fi
install -d -o consent-center -g consent-center -m 0700 /var/lib/consent-center /var/backups/consent-center

# 2. The wheel in a virtual environment of its own; the scripts; the static files for nginx.
[ -x "$prefix/venv/bin/python" ] || python3 -m venv "$prefix/venv"
"$prefix/venv/bin/pip" install --quiet --upgrade "$wheel"
install -d -m 0755 "$prefix/bin"
install -m 0755 "$here/backup.sh" "$here/restore.sh" "$prefix/bin/"
install -m 0755 "$here/consent-center" /usr/local/bin/consent-center
static=$("$prefix/venv/bin/python" -c 'from consent_center.config import bundled; print(bundled("static"))')
ln -sfn "$static" "$prefix/static"

# 3. The settings: written once, with a new secret key and suppression salt; never replaced.
first_run=no
if [ ! -e "$settings" ]; then
  install -d -m 0755 /etc/consent-center
  secret=$(python3 -c 'import secrets; print(secrets.token_urlsafe(48))')
  salt=$(python3 -c 'import secrets; print(secrets.token_urlsafe(32))')
  (umask 077 && sed -e "s|^CONSENT_SECRET_KEY=\$|CONSENT_SECRET_KEY=$secret|" \
                    -e "s|^CONSENT_SUPPRESSION_SALT=\$|CONSENT_SUPPRESSION_SALT=$salt|" \
                    "$here/env.example" > "$settings.new")
  mv "$settings.new" "$settings"
  first_run=yes
fi

# 4. The systemd units, and the nginx site (if none is there yet).
install -m 0644 "$here"/systemd/consent-center-* /etc/systemd/system/
systemctl daemon-reload
if [ -d /etc/nginx/sites-available ] && [ ! -e /etc/nginx/sites-available/consent-center ]; then
  install -m 0644 "$here/nginx/consent-center.conf" /etc/nginx/sites-available/consent-center
fi

if [ "$first_run" = yes ]; then
  cat <<MSG
Installed. Now (docs/deploy.md, steps 4 to 7):
  - edit $settings: CONSENT_BASE_URL, CONSENT_DATABASE_URL, SMTP, the company;
    copy it to your secrets store (the secret key and the salt are in it, nowhere else);
  - edit /etc/nginx/sites-available/consent-center (your name, your certificate), then
    ln -s ../sites-available/consent-center /etc/nginx/sites-enabled/ && nginx -t && systemctl reload nginx;
  - run this script again: it migrates the database and starts the services.
MSG
  exit 0
fi

# 5. Migrate (once per release, before the servers), then start or restart everything.
consent-center db upgrade
systemctl enable --quiet consent-center-web.socket consent-center-web.service consent-center-outbox.service \
  consent-center-expire.timer consent-center-retention.timer consent-center-checkpoint.timer \
  consent-center-backup.timer
systemctl start consent-center-web.socket
# gunicorn reloads on HUP: new workers with the new code, the old ones finish their requests.
systemctl reload-or-restart consent-center-web.service
systemctl restart consent-center-outbox.service
systemctl start consent-center-expire.timer consent-center-retention.timer consent-center-checkpoint.timer \
  consent-center-backup.timer
echo "Consent Center $("$prefix/venv/bin/python" -c 'from importlib.metadata import version; print(version("consent-center"))') is running:"
systemctl --no-pager --lines=0 status consent-center-web.service consent-center-outbox.service | grep -E '●|Active:' || true
