"""The wheel runs anywhere: installed outside the checkout, it migrates, serves and records a change.

What it proves: a wheel built from the repository carries everything the app
reads at run time (templates, static files, migrations, translations, the
demo's policy texts), and the installed ``consent_center`` finds them in
itself, away from any checkout (the interpreter starts in a temporary folder,
with the checkout on no path). What it does not: that pip resolves the
dependencies. To stay fast and offline after the build, the wheel is
installed without them into a fresh virtual environment, which borrows the
development environment's packages through a ``.pth`` line placed after its
own site-packages (a plain path line: the editable install's finder there is
not run), so the ``consent_center`` imported is the wheel's.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

from .dbs import backend_url

ROOT = Path(__file__).resolve().parents[1]
# What a build reads: the package, the folders mapped into it, and the metadata.
SOURCES = ("consent_center", "templates", "static", "migrations", "setup.py", "setup.cfg", "pyproject.toml",
           "README.md")
NO_INDEX = ("No matching distribution found", "Could not find a version that satisfies", "Network is unreachable",
            "Temporary failure in name resolution", "Failed to establish a new connection")

pytestmark = pytest.mark.packaging

# Run by the wheel's interpreter, in a folder outside the checkout: the README's commands through
# Flask's own command line (`flask --app consent_center db upgrade`, then `demo`), then a customer
# switches SMS off through the preferences form and the API answers that SMS is no longer allowed.
JOURNEY = r'''
import contextlib, io, json, os, re, sys
from pathlib import Path

import consent_center
from flask.cli import cli

checkout = Path(sys.argv[1])
assert not Path(consent_center.__file__).is_relative_to(checkout), consent_center.__file__
assert Path(consent_center.__file__).is_relative_to(sys.prefix), (consent_center.__file__, sys.prefix)
# The development packages may live in the checkout (its .venv): only they may come from there.
development = Path(sys.argv[2]).resolve()
assert not any(Path(entry or ".").resolve().is_relative_to(checkout) and Path(entry).resolve() != development
               for entry in sys.path), sys.path


def flask(*args):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        cli.main(["--app", "consent_center", *args], standalone_mode=False)
    return out.getvalue()


# The accounts only: the history is tests/test_demo.py's.
said = {"upgrade": flask("db", "upgrade"), "demo": flask("demo", "--subjects", "0")}
api_key = re.search(r"^\s+(cc_\S+)$", said["demo"], re.MULTILINE).group(1)

from consent_center import create_app

app = create_app()
client = app.test_client()
csrf = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def post(page, data):
    token = csrf.search(client.get(page, follow_redirects=True).get_data(as_text=True)).group(1)
    return client.post(page, data={"csrf_token": token, **data}, follow_redirects=True)


login_page = client.get("/login", headers={"Accept-Language": "nl"})
stylesheet = client.get("/static/site.css")
logged_in = post("/login", {"email": "client@example.com", "password": "demo-password-2026"})
saved = post("/space/preferences", {"active": ["email", "post"]})
check = client.get("/api/v1/check", query_string={"email": "client@example.com", "channel": "sms"},
                   headers={"Authorization": f"Bearer {api_key}"})
print(json.dumps({
    "package": consent_center.__file__, "prefix": sys.prefix, "templates": app.template_folder,
    "instance": app.instance_path, "said": said,
    "login_page": [login_page.status_code, 'lang="nl"' in login_page.get_data(as_text=True)],
    "stylesheet": [stylesheet.status_code, len(stylesheet.data)],
    "logged_in": [logged_in.status_code, logged_in.request.path],
    "saved": [saved.status_code, saved.request.path],
    "check": [check.status_code, check.get_json()],
}))
'''


def build_wheel(tmp_path: Path) -> Path:
    """Build the wheel from a copy of the sources (a build writes beside them), or skip saying why."""
    source = tmp_path / "source"
    source.mkdir()
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(ROOT / name, source / name)
    # As in a checkout where the tests ran: bytecode beside the migrations, which must stay out of the wheel.
    (source / "migrations" / "versions" / "__pycache__").mkdir()
    (source / "migrations" / "versions" / "__pycache__" / "stale.cpython-311.pyc").write_bytes(b"\0")
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "--disable-pip-version-check",
         "--wheel-dir", str(tmp_path / "dist"), str(source)],
        capture_output=True, text=True, timeout=300)
    said = built.stdout + built.stderr
    unreachable = [line.strip() for line in said.splitlines() if any(sign in line for sign in NO_INDEX)]
    if built.returncode and unreachable:
        pytest.skip("cannot build the wheel offline: pip's isolated build fetches setuptools>=68 and wheel "
                    f"from the package index, which does not answer ({unreachable[0]})")
    assert built.returncode == 0, said
    return next((tmp_path / "dist").glob("consent_center-*.whl"))


def fresh_environment(tmp_path: Path, wheel: Path) -> Path:
    """A new virtual environment holding the wheel alone; the development packages come after it."""
    target = tmp_path / "venv"
    venv.create(target, with_pip=False)
    python = target / "bin" / "python"
    installed = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-index", "--no-compile",
         "--quiet", "--disable-pip-version-check", str(wheel)],
        capture_output=True, text=True, timeout=120)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    site_packages = Path(sysconfig.get_path("purelib", vars={"base": str(target), "platbase": str(target)}))
    assert (site_packages / "consent_center" / "__init__.py").is_file()
    (site_packages / "zz_development_packages.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return python


def packed(wheel: Path) -> set[str]:
    with zipfile.ZipFile(wheel) as archive:
        return set(archive.namelist())


def test_the_wheel_installed_elsewhere_migrates_serves_and_records_a_change(tmp_path):
    if backend_url():
        pytest.skip("the wheel makes its own SQLite base whatever the suite's backend: "
                    "it runs once, in the SQLite pass (CONSENT_TEST_DATABASE_URL unset)")
    wheel = build_wheel(tmp_path)
    # Every file of the mapped folders is packed, under the package; no bytecode a checkout may hold.
    files = packed(wheel)
    for folder in ("templates", "static", "migrations"):
        expected = {f"consent_center/{path.relative_to(ROOT).as_posix()}" for path in (ROOT / folder).rglob("*")
                    if path.is_file() and "__pycache__" not in path.parts}
        assert expected and expected <= files, sorted(expected - files)
    assert {"consent_center/translations/nl/LC_MESSAGES/messages.mo", "consent_center/demo_data/policy_fr.md"} <= files
    assert not [name for name in files if "__pycache__" in name or name.endswith(".pyc")]
    assert not [name for name in files if name.split("/")[0] in {"templates", "static", "migrations", "tests"}]

    python = fresh_environment(tmp_path, wheel)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {name: value for name, value in os.environ.items()
           if not name.startswith(("CONSENT_", "FLASK_", "PYTHON"))}
    env.update(CONSENT_SECRET_KEY="a-long-production-secret-of-at-least-32-characters",
               # The cheapest password hashing: the demo hashes four passwords, the log-in one more.
               CONSENT_ARGON2_TIME_COST="1", CONSENT_ARGON2_MEMORY_COST="8", CONSENT_ARGON2_PARALLELISM="1")
    ran = subprocess.run([str(python), "-c", JOURNEY, str(ROOT), sysconfig.get_paths()["purelib"]], cwd=elsewhere, env=env,
                         capture_output=True, text=True, timeout=120)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    seen = json.loads(ran.stdout.strip().splitlines()[-1])

    venv_root = python.parent.parent
    assert Path(seen["package"]).is_relative_to(venv_root)
    assert Path(seen["templates"]) == Path(seen["package"]).parent / "templates"
    # No checkout beside it: the instance folder is the environment's own, where the SQLite base was made.
    assert Path(seen["instance"]) == venv_root / "var" / "consent_center-instance"
    assert (venv_root / "var" / "consent_center-instance" / "consent_center.sqlite3").is_file()
    assert "is at head" in seen["said"]["upgrade"] and "Demo ready" in seen["said"]["demo"]
    assert seen["login_page"] == [200, True]  # a template, in Dutch from the wheel's catalogs
    assert seen["stylesheet"][0] == 200 and seen["stylesheet"][1] > 1000
    assert seen["logged_in"][0] == 200 and seen["logged_in"][1].startswith("/space")
    assert seen["saved"] == [200, "/space/preferences"]
    assert seen["check"][0] == 200
    assert seen["check"][1]["allowed"] is False and seen["check"][1]["status"] == "withdrawn"
