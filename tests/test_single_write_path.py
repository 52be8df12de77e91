"""Invariants 1 and 7, read off the source: one writer, one clock."""
import ast
import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "consent_center"
LEDGER_MODELS = ("ConsentEvent", "ConsentState")


def python_files():
    return [p for p in PACKAGE.rglob("*.py")]


def test_only_the_ledger_constructs_or_writes_events_and_states():
    offenders = []
    for path in python_files():
        if path.name == "ledger.py" and path.parent == PACKAGE:
            continue
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                func = node.func
                name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
                if name in LEDGER_MODELS:
                    offenders.append(f"{path.relative_to(PACKAGE)}:{node.lineno} constructs {name}")
                if name in {"insert", "update", "delete"} and node.args:
                    arg = node.args[0]
                    target = arg.id if isinstance(arg, ast.Name) else getattr(arg, "attr", "")
                    if target in LEDGER_MODELS:
                        offenders.append(f"{path.relative_to(PACKAGE)}:{node.lineno} {name}({target})")
        text = path.read_text()
        for table in ("consent_events", "consent_states"):
            if re.search(rf"(INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+{table}\b", text, re.I):
                if path.parent.name != "migrations":
                    offenders.append(f"{path.relative_to(PACKAGE)} writes {table} in raw SQL")
    assert offenders == []


CLOCK_CALLS = re.compile(r"datetime\.(now|utcnow|today)\(|date\.today\(|time\.time\(")


def test_every_time_rule_reads_the_one_clock():
    offenders = [
        f"{p.relative_to(PACKAGE)}:{n}"
        for p in python_files() if p.name != "clock.py"
        for n, line in enumerate(p.read_text().splitlines(), 1) if CLOCK_CALLS.search(line)
    ]
    assert offenders == []
