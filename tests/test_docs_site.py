"""The manual as a site: the API reference as the OpenAPI document gives it, the legal rules' presets as
jurisdictions.py gives them, every setting and command in its reference page, a strict build, a README
whose links stay in the repository.

The build is MkDocs with the Material theme (mkdocs.yml: strict, with link and anchor validation),
installed by `make install` with the test extras; where it is not installed, that test skips and says
so. Nothing here reads a database: on the PostgreSQL pass these tests skip (conftest.py).
"""
from __future__ import annotations

import difflib
import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("api_reference", ROOT / "scripts" / "api_reference.py")
api_reference = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(api_reference)
_spec = importlib.util.spec_from_file_location("rules_table", ROOT / "scripts" / "rules_table.py")
rules_table = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(rules_table)

pytestmark = pytest.mark.database_independent


def test_the_api_reference_page_is_what_the_openapi_document_gives_today():
    committed = api_reference.PAGE.read_text(encoding="utf-8")
    wanted = api_reference.render(api_reference.introduction(committed))
    diff = list(difflib.unified_diff(committed.splitlines(), wanted.splitlines(), "docs/api.md (committed)",
                                     "docs/api.md (from the OpenAPI document)", lineterm="", n=1))
    assert committed == wanted, (f"docs/api.md no longer matches the OpenAPI document: run `{api_reference.COMMAND}` "
                                 f"and commit docs/api.md.\n" + "\n".join(diff[:60]) + ("\n…" if len(diff) > 60 else ""))


def test_the_api_reference_names_every_operation_of_the_document():
    document = api_reference.openapi_document()
    page = api_reference.PAGE.read_text(encoding="utf-8")
    for path, operations in document["paths"].items():
        for method in operations:
            assert f"\n### {method.upper()} {path}\n" in page, (method, path)
    assert "`/api/v1/docs`" in page and "`/api/v1/openapi.json`" in page


def test_the_rules_page_presets_are_what_the_jurisdictions_give_today():
    committed = rules_table.PAGE.read_text(encoding="utf-8")
    wanted = rules_table.render(committed)
    diff = list(difflib.unified_diff(committed.splitlines(), wanted.splitlines(), "docs/rules.md (committed)",
                                     "docs/rules.md (from consent_center/config/jurisdictions.py)", lineterm="", n=1))
    assert committed == wanted, (f"docs/rules.md's presets no longer match consent_center/config/jurisdictions.py: run "
                                 f"`{rules_table.COMMAND}` and commit docs/rules.md.\n" + "\n".join(diff[:60])
                                 + ("\n…" if len(diff) > 60 else ""))


def settings_the_app_reads() -> set[str]:
    """Every CONSENT_ variable config.py reads by name (and a command takes from the environment)."""
    package = ROOT / "consent_center"
    config = (package / "config" / "__init__.py").read_text(encoding="utf-8")
    names = {f"CONSENT_{name}" for name in re.findall(r'_env\w*\("([A-Z0-9_]+)"', config)}
    names |= {f"CONSENT_{prefix}_FR" for prefix in re.findall(r'_env\w*\(f"([A-Z0-9_]+)_\{', config)}
    names |= {name for source in package.rglob("*.py")
              for name in re.findall(r'envvar="(CONSENT_[A-Z0-9_]+)"', source.read_text(encoding="utf-8"))}
    return names


def test_every_setting_the_app_reads_is_in_the_configuration_page():
    """Every CONSENT_ variable config.py reads (and a command takes from the environment) has its row."""
    page = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    names = settings_the_app_reads()
    assert len(names) > 70, names
    missing = sorted(name for name in names if f"`{name}`" not in page)
    assert not missing, f"settings without a row in docs/configuration.md: {missing}"


def test_every_command_is_in_the_command_reference():
    from consent_center import create_app

    page = (ROOT / "docs" / "commands.md").read_text(encoding="utf-8")
    app = create_app({"TESTING": True, "DATABASE_URL": "sqlite://"})

    def ours(group, prefix=""):
        for name, command in group.commands.items():
            if command.callback is not None and command.callback.__module__.startswith("flask."):
                continue  # Flask's own: run, shell, routes
            if hasattr(command, "commands"):
                yield from ours(command, f"{prefix}{name} ")
            else:
                yield f"{prefix}{name}"

    commands = sorted(ours(app.cli))
    assert len(commands) > 20, commands
    missing = [name for name in commands if not re.search(rf"(`|, ){re.escape(name)}( |`)", page)]
    assert not missing, f"commands missing from docs/commands.md: {missing}"


def mkdocs() -> str | None:
    """The mkdocs of this environment (`make install`), else one on PATH."""
    beside = Path(sys.executable).parent / "mkdocs"
    return str(beside) if beside.exists() else shutil.which("mkdocs")


def test_the_site_builds_strict_with_no_warning(tmp_path):
    """A broken link, a missing anchor or a page out of the navigation fails the build (mkdocs.yml)."""
    command = mkdocs()
    if command is None:
        pytest.skip("mkdocs is not installed here (`make install` installs it with the test extras): "
                    "the documentation site's build is not checked")
    site = tmp_path / "site"
    built = subprocess.run([command, "build", "--strict", "--config-file", str(ROOT / "mkdocs.yml"),
                            "--site-dir", str(site)], check=False, capture_output=True, text=True, timeout=300,
                           env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    output = built.stdout + built.stderr
    warnings = [line for line in output.splitlines() if line.startswith(("WARNING", "ERROR"))]
    assert built.returncode == 0 and not warnings, output
    home = (site / "index.html").read_text(encoding="utf-8")
    assert "screenshots/preferences-desktop.png" in home
    assert "fonts.googleapis.com" not in home  # font: false, nothing fetched from elsewhere
    assert (site / "api" / "index.html").exists() and (site / "configuration" / "index.html").exists()


def test_every_link_of_the_readme_is_a_file_of_the_repository():
    """Relative links that a git host follows: into docs/ and the root's files, never outside."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    targets = re.findall(r"\]\(([^)\s]+)\)", readme)
    assert len(targets) > 20, targets
    for target in targets:
        if target.startswith(("http://", "https://")):
            assert target.startswith("http://127.0.0.1"), f"the README points outside the repository: {target}"
            continue
        path = (ROOT / target.split("#", 1)[0]).resolve()
        assert path.is_relative_to(ROOT), f"the README points outside the repository: {target}"
        assert path.exists(), f"the README links to {target}, which does not exist"
