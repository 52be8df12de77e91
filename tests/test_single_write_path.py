"""Invariants 1 and 7, read off the source: one writer, one clock.

Every module of the package and of ``bench/`` is parsed; outside the ledger
(``consent_center/ledger/``) none may write ConsentEvent or ConsentState.
What counts is what a module names and calls, however it is spelled: a
name bound to a ledger table — by an assignment, an import alias, a loop or
comprehension variable, a ``with`` target, a walrus, or a parameter of one
of the module's own functions called with such a table — is the table.
"""
import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "consent_center"
LEDGER_PACKAGE = PACKAGE / "ledger"
LEDGER_MODELS = {"ConsentEvent", "ConsentState"}
LEDGER_TABLES = {"consent_events", "consent_states"}
# Core statement constructors (``insert(t)``, ``postgresql.insert(t)``) and Table methods (``t.insert()``).
STATEMENTS = {"insert", "update", "delete", "upsert"}
# Session and connection methods that write the objects or mappings they are given.
SESSION_WRITES = {"add", "add_all", "merge", "bulk_save_objects", "bulk_insert_mappings", "bulk_update_mappings"}
# Query methods that write the rows they select (``session.query(ConsentState).delete()``).
QUERY_WRITES = {"delete", "update", "insert"}
WRITE_SQL = re.compile(r"\b(INSERT\s+INTO|UPDATE|DELETE\s+FROM|TRUNCATE(\s+TABLE)?|COPY|MERGE\s+INTO)\s+[\"`]?"
                       r"(consent_events|consent_states)\b", re.I)


def python_files():
    return sorted([*PACKAGE.rglob("*.py"), *(ROOT / "bench").rglob("*.py")])


def in_the_ledger(path: Path) -> bool:
    return LEDGER_PACKAGE in path.parents


def _dotted(node) -> str | None:
    """``a``, ``a.b.c`` for names and attribute chains; None for anything else."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        return ".".join([node.id, *reversed(parts)])
    return None


def _bound(target) -> list[str]:
    """The names (and dotted attribute chains: ``self.tables``) a binding target binds."""
    if isinstance(target, (ast.Tuple, ast.List)):
        return [name for element in target.elts for name in _bound(element)]
    if isinstance(target, ast.Starred):
        return _bound(target.value)
    dotted = _dotted(target)
    return [dotted] if dotted else []


_ITERATING = {"zip", "enumerate", "reversed", "sorted", "list", "tuple", "set", "iter", "chain", "getattr", "Table",
              "table", "aliased", "next"}


class _Module:
    """One module's view of the ledger tables: which names stand for them, which calls write them.

    Two kinds of names are followed: ``tables``, names bound to a ledger model
    or table (or to a collection of them, or to an element of one), and
    ``tainted``, names bound to anything built from one (its rows, its objects).
    """

    def __init__(self, tree: ast.AST):
        self.tree = tree
        self.tables: set[str] = set()
        self.tainted: set[str] = set()
        self.functions: dict[str, list[ast.arguments]] = {}
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                self.functions.setdefault(node.name, []).append(node.args)
        self._follow()

    def is_table(self, node) -> bool:
        """Is ``node`` a ledger model or table, a name for one, or a collection or an element of such?"""
        if isinstance(node, ast.Name):
            return node.id in LEDGER_MODELS or node.id in self.tables
        if isinstance(node, ast.Attribute):
            return (node.attr in LEDGER_MODELS or _dotted(node) in self.tables
                    or node.attr in ("__table__", "table") and self.is_table(node.value))
        if isinstance(node, ast.Constant):
            return isinstance(node.value, str) and node.value.strip('"`') in LEDGER_TABLES | LEDGER_MODELS
        if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
            return any(self.is_table(e) for e in node.elts)
        if isinstance(node, ast.Dict):
            return any(self.is_table(e) for e in (*node.keys, *node.values) if e is not None)
        if isinstance(node, (ast.ListComp, ast.SetComp, ast.GeneratorExp)):
            return self.is_table(node.elt)
        if isinstance(node, ast.DictComp):
            return self.is_table(node.key) or self.is_table(node.value)
        if isinstance(node, ast.Subscript):
            return self.is_table(node.value) or self.is_table(node.slice)
        if isinstance(node, ast.IfExp):
            return self.is_table(node.body) or self.is_table(node.orelse)
        if isinstance(node, ast.BoolOp):
            return any(self.is_table(v) for v in node.values)
        if isinstance(node, (ast.Starred, ast.NamedExpr)):
            return self.is_table(node.value)
        if isinstance(node, ast.Call):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
            if name in _ITERATING:
                return any(self.is_table(a) for a in node.args)
            if isinstance(func, ast.Attribute) and name in ("items", "values", "keys", "alias", "copy"):
                return self.is_table(func.value)
        return False

    def refers(self, node) -> bool:
        """Does ``node`` name a ledger model or table, or a name built from one, anywhere in it?"""
        for sub in ast.walk(node):
            if isinstance(sub, ast.Name) and (sub.id in LEDGER_MODELS | self.tables | self.tainted):
                return True
            if isinstance(sub, ast.Attribute) and (sub.attr in LEDGER_MODELS
                                                   or _dotted(sub) in self.tables | self.tainted):
                return True
            if isinstance(sub, ast.Constant) and self.is_table(sub):
                return True
        return False

    def _bindings(self):
        """(target, the expression bound to it) for every binding in the module."""
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Assign):
                for target in node.targets:
                    yield from _pairs(target, node.value)
            elif isinstance(node, (ast.AnnAssign, ast.AugAssign)) and node.value is not None:
                yield node.target, node.value
            elif isinstance(node, ast.NamedExpr):
                yield node.target, node.value
            elif isinstance(node, (ast.For, ast.AsyncFor, ast.comprehension)):
                yield node.target, node.iter
            elif isinstance(node, (ast.With, ast.AsyncWith)):
                for item in node.items:
                    if item.optional_vars is not None:
                        yield item.optional_vars, item.context_expr
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                for alias in node.names:
                    if alias.asname and alias.name.rsplit(".", 1)[-1] in LEDGER_MODELS:
                        yield ast.Name(alias.asname), ast.Name(alias.name.rsplit(".", 1)[-1])
            elif isinstance(node, ast.Call):
                yield from self._parameters(node)

    def _parameters(self, call: ast.Call):
        """A call of one of the module's functions binds its parameters to the arguments."""
        name = call.func.id if isinstance(call.func, ast.Name) else getattr(call.func, "attr", None)
        for arguments in self.functions.get(name, ()):
            positional = [a.arg for a in (*arguments.posonlyargs, *arguments.args)]
            if positional and positional[0] in ("self", "cls") and isinstance(call.func, ast.Attribute):
                positional = positional[1:]
            for param, arg in zip(positional, call.args):
                yield ast.Name(param), arg
            for arg in call.args:
                if isinstance(arg, ast.Starred) and arguments.vararg:
                    yield ast.Name(arguments.vararg.arg), arg
            for keyword in call.keywords:
                names = [keyword.arg] if keyword.arg else [p for p in positional]
                for param in names:
                    yield ast.Name(param), keyword.value

    def _follow(self) -> None:
        while True:
            before = len(self.tables), len(self.tainted)
            for target, value in self._bindings():
                if self.is_table(value):
                    self.tables.update(_bound(target))
                elif self.refers(value):
                    self.tainted.update(_bound(target))
            if (len(self.tables), len(self.tainted)) == before:
                return

    def writes(self) -> list[str]:
        found = []
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Call):
                found += [f"{node.lineno} {what}" for what in self._call_writes(node)]
            elif isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for target in targets:
                    for sub in ast.walk(target):
                        if isinstance(sub, ast.Attribute) and isinstance(sub.ctx, ast.Store) \
                                and self._ledger_object(sub.value):
                            found.append(f"{node.lineno} sets {ast.unparse(sub)}")
            elif isinstance(node, ast.Delete):
                found += [f"{node.lineno} del {ast.unparse(t)}" for t in node.targets
                          if isinstance(t, ast.Attribute) and self._ledger_object(t.value)]
            elif isinstance(node, ast.Constant) and isinstance(node.value, str) and WRITE_SQL.search(node.value):
                found.append(f"{node.lineno} SQL {node.value.strip()[:60]!r}")
            if isinstance(node, (ast.JoinedStr, ast.BinOp, ast.Call)):
                sql = self._sql_text(node)
                if sql is not None:
                    found.append(f"{node.lineno} SQL {sql[:60]!r}")
        return sorted(set(found), key=lambda s: (int(s.split()[0]), s))

    def _ledger_object(self, node) -> bool:
        """A name for an event or a state object (built from a ledger model), not for a table."""
        return isinstance(node, (ast.Name, ast.Attribute)) and (_dotted(node) in self.tainted) \
            and not self.is_table(node)

    def _call_writes(self, node: ast.Call) -> list[str]:
        func, args = node.func, [*node.args, *(k.value for k in node.keywords)]
        name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
        found = []
        if name in LEDGER_MODELS or (isinstance(func, (ast.Name, ast.Attribute)) and _dotted(func) in self.tables):
            found.append(f"constructs {ast.unparse(func)}")
        if name in STATEMENTS and node.args and self.is_table(node.args[0]):
            found.append(f"{ast.unparse(func)}({ast.unparse(node.args[0])})")
        elif isinstance(func, ast.Attribute):
            if name in SESSION_WRITES | {"delete"} and any(
                    self.is_table(a) or self._ledger_object(a) or self._constructs(a) for a in args):
                found.append(f"{ast.unparse(func)}({', '.join(ast.unparse(a) for a in args)})")
            elif name in QUERY_WRITES and self._is_statement(func.value):
                found.append(f"{ast.unparse(func)}()")
        return found

    def _constructs(self, node) -> bool:
        return any(isinstance(sub, ast.Call) and (getattr(sub.func, "id", getattr(sub.func, "attr", None))
                                                  in LEDGER_MODELS or _dotted(sub.func) in self.tables)
                   for sub in ast.walk(node))

    def _is_statement(self, node) -> bool:
        """A ledger table, or a query or select over one (not, say, a dict of states)."""
        if self.is_table(node):
            return True
        if isinstance(node, ast.Call):
            name = getattr(node.func, "attr", getattr(node.func, "id", ""))
            if name in {"query", "select", "where", "filter", "filter_by", "join", "outerjoin", "execution_options"}:
                return self.refers(node)
        return False

    def _sql_text(self, node) -> str | None:
        """Text built from pieces (an f-string, ``%``, ``+``, ``.format``) that writes a table named by a ledger name."""
        if isinstance(node, ast.Call):
            if getattr(node.func, "attr", None) != "format" or not isinstance(node.func.value, ast.Constant):
                return None
            text, pieces = node.func.value.value, [*node.args, *(k.value for k in node.keywords)]
        elif isinstance(node, ast.JoinedStr):
            text = "".join(v.value if isinstance(v, ast.Constant) else "{}" for v in node.values)
            pieces = [v.value for v in node.values if isinstance(v, ast.FormattedValue)]
        elif isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Mod, ast.Add)):
            text = "".join(n.value for n in ast.walk(node) if isinstance(n, ast.Constant) and isinstance(n.value, str))
            pieces = [node.right] if isinstance(node.op, ast.Mod) else [node.left, node.right]
        else:
            return None
        if not isinstance(text, str) or not re.search(r"\b(INSERT|UPDATE|DELETE|TRUNCATE|COPY|MERGE)\b", text, re.I):
            return None
        return text if any(self.is_table(p) for p in pieces) else None


def _pairs(target, value):
    """``a, b = x, y`` binds a to x and b to y; any other target takes the whole value."""
    if isinstance(target, (ast.Tuple, ast.List)) and isinstance(value, (ast.Tuple, ast.List)) \
            and len(target.elts) == len(value.elts) and not any(isinstance(e, ast.Starred) for e in target.elts):
        for t, v in zip(target.elts, value.elts):
            yield from _pairs(t, v)
    else:
        yield target, value


def ledger_writes(source: str) -> list[str]:
    """What ``source`` writes of events and states: constructions, statements, session writes, SQL."""
    return _Module(ast.parse(source)).writes()


def test_the_check_sees_core_statements_through_a_table_or_an_alias():
    source = ("_e = ConsentEvent.__table__\ninsert(_e)\nupdate(ConsentState.__table__)\n"
              "delete(ConsentEvent)\nselect(_e)\ninsert(Receipt.__table__)\n"
              "_r, _st = Receipt.__table__, ConsentState.__table__\nupdate(_st)\ninsert(_r)\n"
              "postgresql.insert(_st)\n")
    assert ledger_writes(source) == ["2 insert(_e)", "3 update(ConsentState.__table__)", "4 delete(ConsentEvent)",
                                     "8 update(_st)", "10 postgresql.insert(_st)"]


def test_the_check_follows_loop_variables_aliases_and_parameters():
    cases = {
        # the old bench seed: a loop over (model, rows) pairs
        "for table, rows in ((Subject, a), (ConsentEvent, b)):\n    session.execute(insert(table.__table__), rows)":
            "2 insert(table.__table__)",
        "from consent_center.models import ConsentState as S\nsession.add(S(status='granted'))":
            "2 constructs S",
        "import consent_center.models as m\nt = m.ConsentEvent.__table__\nconn.execute(t.insert(), rows)":
            "3 t.insert()",
        "tables = [m.__table__ for m in (Receipt, ConsentState)]\nfor t in tables:\n    conn.execute(delete(t))":
            "3 delete(t)",
        "def put(session, model, rows):\n    session.bulk_insert_mappings(model, rows)\nput(s, ConsentEvent, [])":
            "2 session.bulk_insert_mappings(model, rows)",
        "session.query(ConsentState).filter_by(subject_id=1).delete()":
            "1 session.query(ConsentState).filter_by(subject_id=1).delete()",
        "state = session.get(ConsentState, key)\nstate.status = 'withdrawn'": "2 sets state.status",
        "for table in ('subjects', 'consent_states'):\n    conn.exec_driver_sql(f'DELETE FROM {table}')":
            "2 SQL 'DELETE FROM {}'",
        "conn.execute(text('INSERT INTO consent_events (seq) VALUES (1)'))":
            "1 SQL 'INSERT INTO consent_events (seq) VALUES (1)'",
        "if (t := getattr(models, 'ConsentEvent')) is not None:\n    session.execute(update(t))": "2 update(t)",
        "with engine.begin() as conn:\n    conn.execute(insert(Table('consent_events', md)), rows)":
            "2 insert(Table('consent_events', md))",
    }
    for source, expected in cases.items():
        assert expected in ledger_writes(source), source


def test_the_check_lets_reads_be():
    source = ("states = {s.channel_id: s for s in session.scalars(select(ConsentState))}\nstates.update(other)\n"
              "rows = session.execute(select(ConsentEvent.id).where(ConsentEvent.seq > 1))\nfor row in rows:\n"
              "    out.append(row)\nsession.add(Receipt())\ninsert(Subject.__table__)\n"
              "text('SELECT * FROM consent_events')\nf'UPDATE subjects SET x = {value}'\n")
    assert ledger_writes(source) == []


def test_only_the_ledger_constructs_or_writes_events_and_states():
    offenders = [f"{path.relative_to(ROOT)}:{found}"
                 for path in python_files() if not in_the_ledger(path)
                 for found in ledger_writes(path.read_text())]
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


def test_only_the_ledger_uses_the_write_statements():
    """``ledger.writes`` skips the lock, the chain and the receipt: only ``record_change``
    (``ledger/__init__``) and its bulk path (``ledger/bulk``) call it."""
    callers = {LEDGER_PACKAGE / "__init__.py", LEDGER_PACKAGE / "bulk.py"}
    offenders = [f"{path.relative_to(ROOT)}:{found}"
                 for path in python_files() if path not in callers
                 for found in imports_of_ledger_writes(ast.parse(path.read_text()))]
    assert offenders == []


CLOCK_CALLS = re.compile(r"datetime\.(now|utcnow|today)\(|date\.today\(|time\.time\(")


def test_every_time_rule_reads_the_one_clock():
    offenders = [
        f"{p.relative_to(PACKAGE)}:{n}"
        for p in PACKAGE.rglob("*.py") if p.name != "clock.py"
        for n, line in enumerate(p.read_text().splitlines(), 1) if CLOCK_CALLS.search(line)
    ]
    assert offenders == []
