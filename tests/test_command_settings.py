"""The README's commands where it runs them: .env from `make demo`, and a missing key said in one line."""
from __future__ import annotations

import importlib.util
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask.cli import FlaskGroup
from sqlalchemy import create_engine, select

from consent_center import create_app
from consent_center.extensions import db as database
from consent_center.ledger import Actor, record_change
from consent_center.models import ApiClient, Source

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("dev_env", ROOT / "scripts" / "dev_env.py")
dev_env = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(dev_env)


def key_in(env_file: Path) -> str:
    keys = [line.split("=", 1)[1] for line in env_file.read_text().splitlines()
            if line.startswith("CONSENT_SECRET_KEY=")]
    assert len(keys) == 1, env_file.read_text()
    return keys[0]


def test_make_demo_writes_a_private_key_once_and_never_replaces_one(tmp_path):
    made = tmp_path / "fresh" / ".env"
    made.parent.mkdir()
    assert dev_env.ensure_secret_key(made).endswith("CONSENT_SECRET_KEY made")
    key = key_in(made)
    assert len(key) >= 64 and stat.S_IMODE(made.stat().st_mode) == 0o600
    before = made.read_text()
    assert dev_env.ensure_secret_key(made).endswith("kept")  # a second `make demo`
    assert made.read_text() == before

    # A .env of the developer's own, without a key: kept as it is, the key added on a line of its own.
    own = tmp_path / "own" / ".env"
    own.parent.mkdir()
    own.write_text("CONSENT_DEFAULT_LOCALE=nl\n# CONSENT_SECRET_KEY=a-commented-key-is-no-key")
    own.chmod(0o644)
    dev_env.ensure_secret_key(own)
    assert own.read_text().startswith("CONSENT_DEFAULT_LOCALE=nl\n# CONSENT_SECRET_KEY=a-commented-key-is-no-key\n"
                                      "CONSENT_SECRET_KEY=")
    assert key_in(own) != key and stat.S_IMODE(own.stat().st_mode) == 0o600

    # One given as `export NAME=…`, even empty, is the developer's choice: left alone.
    exported = tmp_path / "exported" / ".env"
    exported.parent.mkdir()
    exported.write_text("export CONSENT_SECRET_KEY=\n")
    dev_env.ensure_secret_key(exported)
    assert exported.read_text() == "export CONSENT_SECRET_KEY=\n"

    # Older demos kept their key in instance/secret_key: carried over, so their sessions and links still hold.
    legacy = tmp_path / "old" / "instance" / "secret_key"
    legacy.parent.mkdir(parents=True)
    legacy.write_text("the-key-an-older-make-demo-made-for-this-checkout\n")
    carried = tmp_path / "old" / ".env"
    assert "carried over" in dev_env.ensure_secret_key(carried, legacy)
    assert key_in(carried) == "the-key-an-older-make-demo-made-for-this-checkout"


@pytest.fixture
def no_settings(monkeypatch, tmp_path, database_url):
    """The shell of someone who never ran `make demo`: no key, no .env, the test's base and instance folder."""
    for name in ("CONSENT_SECRET_KEY", "CONSENT_SECRET_KEY_FALLBACKS", "CONSENT_DEBUG", "FLASK_DEBUG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CONSENT_DATABASE_URL", database_url)
    monkeypatch.setenv("CONSENT_INSTANCE_PATH", str(tmp_path / "instance"))  # the app fixture's too
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    monkeypatch.chdir(folder)
    return folder


def flask(*args: str):
    """``flask …`` as the command line runs it: the app built while a command is looked up."""
    try:
        return CliRunner().invoke(FlaskGroup(create_app=create_app), list(args))
    finally:
        # The app it built pointed the one `db` at an engine of its own: closed with the command.
        database.session.remove()
        database.dispose()


def api_client_names(database_url: str) -> list[str]:
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            return connection.scalars(select(ApiClient.name)).all()
    finally:
        engine.dispose()


def test_without_a_key_receipt_verify_runs_and_other_commands_refuse_in_one_line(no_settings, session, make_subject,
                                                                                  monkeypatch, database_url):
    recorded = record_change(session, make_subject(is_customer=True), {"sms": "withdrawn"}, source=Source.API,
                             actor=Actor.system())
    session.commit()
    download = no_settings / "receipt.jws"
    download.write_text(recorded.receipt.jws)
    database.session.remove()
    database.dispose()  # the test app's connections, before the command line's apps replace its engine

    verified = flask("receipt", "verify", str(download))
    assert verified.exit_code == 0, verified.output
    assert verified.output.startswith(f"OK: receipt {recorded.receipt.public_id}")

    for command in (["apikey", "create", "--name", "Newsletter platform", "--scope", "consent:read"],
                    ["receipt", "rotate-key"], ["demo", "--force"], ["apikey", "--help"]):
        refused = flask(*command)
        assert refused.exit_code == 1, (command, refused.output)
        assert refused.output.count("\n") == 1 and "Traceback" not in refused.output, refused.output
        assert refused.output.startswith("Error: CONSENT_SECRET_KEY is not set"), refused.output
        assert "`make demo` writes a development key to .env" in refused.output
    assert api_client_names(database_url) == []

    monkeypatch.setenv("CONSENT_SECRET_KEY", "short-key")
    short = flask("ledger", "verify")
    assert short.exit_code == 1 and "shorter than 32 characters" in short.output and short.output.count("\n") == 1


def test_what_builds_the_app_itself_is_refused_at_once(no_settings):
    # gunicorn, a test or a script: no command to defer to.
    with pytest.raises(RuntimeError, match="CONSENT_SECRET_KEY is not set"):
        create_app()
    # Flask's own commands that build the app in their command (`run`, `shell`, `routes`): one line too.
    refused = flask("routes")
    assert refused.exit_code == 1 and refused.output.count("\n") == 1, refused.output
    assert refused.output.startswith("Error: CONSENT_SECRET_KEY is not set")


def test_after_make_demo_the_readme_commands_run_in_that_folder(tmp_path, database_url):
    """A real `flask --app wsgi …` in a folder with `make demo`'s .env, no CONSENT_SECRET_KEY in the shell."""
    folder = tmp_path / "checkout"
    folder.mkdir()
    shutil.copy2(ROOT / "wsgi.py", folder / "wsgi.py")
    (folder / ".env").write_text(f"CONSENT_DATABASE_URL={database_url}\n"
                                 f"CONSENT_INSTANCE_PATH={tmp_path / 'instance'}\n")
    dev_env.ensure_secret_key(folder / ".env")
    env = {name: value for name, value in os.environ.items() if not name.startswith(("CONSENT_", "FLASK_"))}
    env["PYTHONPATH"] = str(ROOT)
    ran = subprocess.run([str(Path(sys.executable).with_name("flask")), "--app", "wsgi", "apikey", "create",
                          "--name", "Newsletter platform", "--scope", "consent:read"],
                         cwd=folder, env=env, capture_output=True, text=True, timeout=120)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "cc_" in ran.stdout
    assert api_client_names(database_url) == ["Newsletter platform"]
