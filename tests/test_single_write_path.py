"""Invariants 1 and 7, read off the source: one writer, one clock."""
import ast
import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "consent_center"
LEDGER_MODELS = ("ConsentEvent", "ConsentState")
# The ledger: record_change (``__init__``) and the statements it writes with (``writes``).
LEDGER = (PACKAGE / "ledger" / "__init__.py", PACKAGE / "ledger" / "writes.py")


def python_files():
    return [p for p in PACKAGE.rglob("*.py")]


def _ledger_table(node, aliases: set[str]) -> bool:
    """``ConsentEvent``, ``ConsentState``, their ``__table__``, or a name bound to one of those."""
    if isinstance(node, ast.Name):
        return node.id in LEDGER_MODELS or node.id in aliases
    return (isinstance(node, ast.Attribute) and node.attr == "__table__"
            and isinstance(node.value, ast.Name) and node.value.id in LEDGER_MODELS)


def ledger_writes(tree) -> list[str]:
    """The constructions of, and INSERT/UPDATE/DELETE statements on, events and states in ``tree``."""
    aliases = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign):
            for target in node.targets:  # x = T, and x, y = T, U
                pairs = (zip(target.elts, node.value.elts) if isinstance(target, ast.Tuple)
                         and isinstance(node.value, ast.Tuple) else [(target, node.value)])
                aliases |= {name.id for name, value in pairs
                            if isinstance(name, ast.Name) and _ledger_table(value, set())}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
            if name in LEDGER_MODELS:
                found.append(f"{node.lineno} constructs {name}")
            if name in {"insert", "update", "delete"} and node.args and _ledger_table(node.args[0], aliases):
                found.append(f"{node.lineno} {name}({ast.unparse(node.args[0])})")
    return found


def test_the_check_sees_core_statements_through_a_table_or_an_alias():
    tree = ast.parse("_e = ConsentEvent.__table__\ninsert(_e)\nupdate(ConsentState.__table__)\n"
                     "delete(ConsentEvent)\nselect(_e)\ninsert(Receipt.__table__)\n"
                     "_r, _st = Receipt.__table__, ConsentState.__table__\nupdate(_st)\ninsert(_r)\n"
                     "postgresql.insert(_st)\n")
    assert ledger_writes(tree) == ["2 insert(_e)", "3 update(ConsentState.__table__)", "4 delete(ConsentEvent)",
                                   "8 update(_st)", "10 insert(_st)"]


def test_only_the_ledger_constructs_or_writes_events_and_states():
    offenders = []
    for path in python_files():
        if path in LEDGER:
            continue
        tree = ast.parse(path.read_text())
        offenders += [f"{path.relative_to(PACKAGE)}:{found}" for found in ledger_writes(tree)]
        text = path.read_text()
        for table in ("consent_events", "consent_states"):
            if re.search(rf"(INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+{table}\b", text, re.I):
                if path.parent.name != "migrations":
                    offenders.append(f"{path.relative_to(PACKAGE)} writes {table} in raw SQL")
    assert offenders == []


def imports_of_ledger_writes(tree) -> list[str]:
    """Imports of the ledger's write statements (``ledger.writes``, however spelled)."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            module = node.module or ""
            names = {alias.name for alias in node.names}
            if module.endswith("ledger.writes") or module == "writes" and node.level == 1 \
                    or module.endswith("ledger") and "writes" in names:
                found.append(f"{node.lineno} from {'.' * node.level}{module} import {', '.join(sorted(names))}")
        elif isinstance(node, ast.Import):
            found += [f"{node.lineno} import {a.name}" for a in node.names if a.name.endswith("ledger.writes")]
    return found


def test_the_check_sees_imports_of_the_write_statements():
    tree = ast.parse("from .ledger.writes import write\nfrom ..ledger import writes\nfrom .writes import write\n"
                     "import consent_center.ledger.writes\nfrom .ledger import record_change\n")
    assert imports_of_ledger_writes(tree) == ["1 from .ledger.writes import write", "2 from ..ledger import writes",
                                              "3 from .writes import write", "4 import consent_center.ledger.writes"]


def test_only_record_change_uses_the_write_statements():
    """``ledger.writes.write`` skips the lock, the chain and the receipt: only the ledger's own code calls it."""
    offenders = []
    for path in python_files():
        if path == LEDGER[0]:
            continue
        offenders += [f"{path.relative_to(PACKAGE)}:{found}" for found in imports_of_ledger_writes(ast.parse(path.read_text()))]
    assert offenders == []


CLOCK_CALLS = re.compile(r"datetime\.(now|utcnow|today)\(|date\.today\(|time\.time\(")


def test_every_time_rule_reads_the_one_clock():
    offenders = [
        f"{p.relative_to(PACKAGE)}:{n}"
        for p in python_files() if p.name != "clock.py"
        for n, line in enumerate(p.read_text().splitlines(), 1) if CLOCK_CALLS.search(line)
    ]
    assert offenders == []
