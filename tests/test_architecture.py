"""The package's shape, held by import-linter's contracts in ``.importlinter``.

Surfaces above domain services above foundations, no service importing a
view, a form or the request layer, and no import cycle in any package.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_every_import_linter_contract_is_kept():
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_the_package_has_no_flat_pile_of_modules():
    """Every behaviour lives in a domain package; the top level holds only foundations."""
    top = sorted(p.stem for p in (ROOT / "consent_center").glob("*.py"))
    assert top == ["__init__", "addresses", "after_commit", "canonical", "clock", "extensions", "migrate",
                   "safe_text", "signals", "tokens", "urls", "wsgi"], top
