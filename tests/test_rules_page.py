"""The legal rules page (docs/rules.md) names only what exists: every test it cites is in its file, every
setting is one the app reads, and every test named after a rule (``test_rule_…``) is cited there.

Test files are parsed (``ast``), not imported: a cited test counts wherever it is defined, and a file
that does not import still shows its names. Nothing here reads a database.
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from consent_center.config.jurisdictions import RULES

from .test_docs_site import settings_the_app_reads

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "rules.md"
CITED = re.compile(r"`(tests/[\w/]+\.py)::(test_\w+)`")
RULE_TEST_NAME = re.compile(r"`(test_rule_\w+)`")
SETTING = re.compile(r"\bCONSENT_[A-Z0-9_]*[A-Z0-9]\b")

pytestmark = pytest.mark.database_independent


def page() -> str:
    return PAGE.read_text(encoding="utf-8")


def defined_tests(path: Path) -> set[str]:
    """The names of the test functions a test file defines (methods of its classes included)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    return {node.name for node in ast.walk(tree)
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test_")}


def test_every_test_the_rules_page_cites_exists():
    cited = sorted(set(CITED.findall(page())))
    assert len(cited) > 40, cited
    missing = []
    for file, name in cited:
        path = ROOT / file
        if not path.is_file():
            missing.append(f"{file}::{name} (there is no {file})")
        elif name not in defined_tests(path):
            missing.append(f"{file}::{name}")
    assert not missing, (
        "docs/rules.md cites tests that do not exist:\n  " + "\n  ".join(missing)
        + "\nA test renamed or removed: cite it by its new name, or cite the test that now proves the rule. "
          "A rule's test still on a branch not merged: this passes once that branch is merged.")


def test_the_rules_table_names_only_tests_the_page_cites_in_full():
    """The summary table's short names (`test_rule_…`) are each cited with their file under their rule."""
    text = page()
    cited_names = {name for _, name in CITED.findall(text)}
    short = set(RULE_TEST_NAME.findall(text))
    assert len(short) >= 15, short
    assert short <= cited_names, f"named in docs/rules.md without their file: {sorted(short - cited_names)}"


def test_every_setting_the_rules_page_names_is_one_the_app_reads():
    named = set(SETTING.findall(page()))
    real = settings_the_app_reads() | {f"CONSENT_{rule.key}" for rule in RULES}
    assert len(named) > 15, named
    assert {f"CONSENT_{rule.key}" for rule in RULES} <= named
    unknown = sorted(named - real)
    assert not unknown, f"docs/rules.md names settings the app does not read: {unknown}"


def test_every_test_named_after_a_rule_is_cited_on_the_rules_page():
    cited = {f"{file}::{name}" for file, name in CITED.findall(page())}
    named = {f"{path.relative_to(ROOT).as_posix()}::{name}"
             for path in sorted((ROOT / "tests").rglob("test_*.py"))
             for name in defined_tests(path) if name.startswith("test_rule_")}
    assert len(named) >= 9, named
    uncited = sorted(named - cited)
    assert not uncited, ("tests named after a rule that docs/rules.md does not cite (add each under its rule's "
                         "Tests, with what the product does and its sources):\n  " + "\n  ".join(uncited))
