"""The files of deploy/ hold together (issue 24, item 5): systemd accepts the units, each runs a
command the app has, all carry one hardening baseline, the settings template names real settings
and matches the nginx site. (tests/test_deploy_nginx.py runs the site and the web unit's command;
tests/test_deploy_backup.py runs the backup and restore scripts.)
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import click
import pytest

from consent_center import create_app
from consent_center.config import PACKAGE_DIR

from .deploy_files import DEPLOY, ENV_TEMPLATE, UNITS, VENV, env_template, exec_start, unit_lines

SERVICES = sorted(path.name for path in UNITS.glob("*.service"))
TIMERS = sorted(path.name for path in UNITS.glob("*.timer"))
BASELINE = re.compile(r"^# --- The hardening baseline.*?^# --- end of the baseline$", re.S | re.M)
# Read by deploy/'s scripts, not by the app.
SCRIPT_SETTINGS = {"CONSENT_BACKUP_DIR", "CONSENT_BACKUP_KEEP", "CONSENT_PYTHON"}


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="systemd-analyze is missing (the systemd package)")
def test_systemd_accepts_every_unit(tmp_path):
    # Each unit as installed, its programs found where this test's environment has them.
    for unit in UNITS.iterdir():
        text = unit.read_text().replace(f"{VENV}/bin/", f"{Path(sys.executable).parent}/")
        (tmp_path / unit.name).write_text(text.replace("/opt/consent-center/bin/", f"{DEPLOY}/"))
    result = subprocess.run(["systemd-analyze", "verify", *sorted(str(p) for p in tmp_path.iterdir())],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and not result.stderr.strip(), result.stderr


def test_every_service_carries_the_same_baseline_and_every_timer_its_service():
    baselines = {name: BASELINE.findall((UNITS / name).read_text()) for name in SERVICES}
    assert all(len(found) == 1 for found in baselines.values()), baselines
    assert len({found[0] for found in baselines.values()}) == 1, "the services' hardening blocks differ"
    block = baselines[SERVICES[0]][0]
    for needed in ("User=consent-center", "EnvironmentFile=/etc/consent-center/env", "NoNewPrivileges=yes",
                   "ProtectSystem=strict", "ReadWritePaths=/var/lib/consent-center", "PrivateTmp=yes",
                   "CapabilityBoundingSet=\n", "FLASK_SKIP_DOTENV=1"):
        assert needed in block, needed
    assert {name.removesuffix(".timer") for name in TIMERS} <= {name.removesuffix(".service") for name in SERVICES}
    for timer in TIMERS:
        assert "Persistent=true" in unit_lines(timer) and any(l.startswith("OnCalendar=") for l in unit_lines(timer))
    install = (DEPLOY / "install.sh").read_text()
    assert all(timer in install for timer in TIMERS), "install.sh enables every timer"
    web = unit_lines("consent-center-web.service")
    assert "Requires=consent-center-web.socket" in web and "Type=notify" in web


def test_every_command_of_the_units_is_one_the_app_has():
    app = create_app({"TESTING": True, "DATABASE_URL": "sqlite://"})
    commands = {}
    for name in SERVICES:
        if name == "consent-center-backup.service":  # deploy/backup.sh, which install.sh puts there
            assert "ExecStart=/opt/consent-center/bin/backup.sh" in unit_lines(name)
            assert '"$here/backup.sh"' in (DEPLOY / "install.sh").read_text()
            continue
        argv = exec_start(name)
        if Path(argv[0]).name == "flask":
            assert argv[1:3] == ["--app", "consent_center"], argv
            commands[name] = argv[3:]
        elif Path(argv[0]).name == "gunicorn":
            module, _, attribute = argv[-1].partition(":")
            assert (module, attribute) == ("consent_center.wsgi", "app")
            assert (PACKAGE_DIR / "wsgi.py").is_file()
    assert commands == {
        "consent-center-outbox.service": ["outbox", "deliver"],
        "consent-center-expire.service": ["consent", "expire"],
        "consent-center-retention.service": ["retention", "run"],
        "consent-center-checkpoint.service": ["ledger", "checkpoint"],
    }
    context = click.Context(app.cli)
    for group, command in commands.values():
        assert app.cli.get_command(context, group).get_command(context, command) is not None, (group, command)


def test_the_settings_template_names_real_settings_and_matches_the_nginx_site(monkeypatch):
    template = env_template()
    config_source = (PACKAGE_DIR / "config" / "__init__.py").read_text()
    unknown = [name for name in template
               if name not in SCRIPT_SETTINGS and f'"{name.removeprefix("CONSENT_")}"' not in config_source]
    commented = re.findall(r"^#(CONSENT_[A-Z_]+)=", ENV_TEMPLATE.read_text(), re.M)
    unknown += [name for name in commented if f'"{name.removeprefix("CONSENT_")}"' not in config_source]
    assert not unknown, f"deploy/env.example names settings the app does not read: {unknown}"
    assert template["CONSENT_SECRET_KEY"] == "" and template["CONSENT_SUPPRESSION_SALT"] == ""  # install.sh fills them
    for name in [n for n in os.environ if n.startswith("CONSENT_")]:
        monkeypatch.delenv(name)
    for name, value in template.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("CONSENT_SECRET_KEY", "a-production-secret-key-of-at-least-32-characters")
    app = create_app()  # as the services start it: not testing, not debug
    assert app.config["TRUSTED_PROXIES"] == 1 and app.config["SESSION_COOKIE_SECURE"]
    assert app.config["REMEMBER_COOKIE_SECURE"] and app.config["MAIL_BACKEND"] == "smtp"
    assert app.config["RATELIMIT_STORAGE_URI"].startswith("redis://")
    assert app.instance_path == "/var/lib/consent-center"

    site = (DEPLOY / "nginx" / "consent-center.conf").read_text()
    (body_limit,) = re.findall(r"client_max_body_size (\d+)m;", site)
    assert int(body_limit) * 1024 * 1024 >= max(app.config["API_MAX_BODY"], app.config["MAX_CONTENT_LENGTH"])
    (read_timeout,) = re.findall(r"proxy_read_timeout (\d+)s;", site)
    gunicorn = exec_start("consent-center-web.service")
    assert read_timeout == gunicorn[gunicorn.index("--timeout") + 1]  # an export is cut by neither first
    # The app sets the security headers; nginx adds none to what it proxies (only to its static files).
    proxied = site[site.index("location / {", site.index("listen 443 ssl http2")):site.index("location /static/")]
    assert "add_header" not in proxied and "proxy_set_header X-Forwarded-Proto $scheme;" in proxied


def test_the_scripts_parse():
    for script in ("install.sh", "backup.sh", "restore.sh", "consent-center"):
        result = subprocess.run(["bash", "-n", str(DEPLOY / script)], capture_output=True, text=True, timeout=30)
        assert result.returncode == 0, (script, result.stderr)
        assert os.access(DEPLOY / script, os.X_OK), script
