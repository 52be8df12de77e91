"""The engines of a process share compiled statements, only when alike (consent_center/db/compiled.py)."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import create_engine, select

from consent_center.canonical import stored_json
from consent_center.db.compiled import STATEMENTS, CompiledStatements
from consent_center.extensions import make_engine, make_read_engine
from consent_center.migrate import upgrade
from consent_center.models import Channel


def _channels(engine) -> list[str]:
    with engine.connect() as connection:
        return list(connection.scalars(select(Channel.code).order_by(Channel.code)))


def _engines(tmp_path, count: int):
    engines = []
    for number in range(count):
        engine = make_engine(f"sqlite:///{tmp_path / f'{number}.sqlite3'}")
        upgrade(engine)
        engines.append(engine)
    return engines


def test_a_statement_compiled_for_one_engine_is_not_compiled_again_for_another_alike(tmp_path):
    first, second = _engines(tmp_path, 2)
    statement = select(Channel.code).where(Channel.code == "compiled-once-test").order_by(Channel.id.desc())
    with first.connect() as connection:
        assert connection.execute(statement).all() == []
    compiled = STATEMENTS.compiled
    with second.connect() as connection:
        assert connection.execute(statement).all() == []
    assert STATEMENTS.compiled == compiled  # found, not compiled again
    assert _channels(first) == _channels(second)
    for engine in (first, second):
        engine.dispose()


def test_an_engine_with_another_json_writer_keeps_statements_of_its_own(tmp_path):
    """A JSON parameter is written by the dialect's serializer: an engine with another must not
    reuse statements compiled for ``stored_json`` (nor they its)."""
    cache = CompiledStatements()
    canonical = cache.share(create_engine(f"sqlite:///{tmp_path / 'a.sqlite3'}", json_serializer=stored_json,
                                          execution_options=cache.engine_options), stored_json)
    indented = cache.share(create_engine(f"sqlite:///{tmp_path / 'b.sqlite3'}",
                                         json_serializer=lambda value: json.dumps(value, indent=1),
                                         execution_options=cache.engine_options), json.dumps)
    unshared = create_engine(f"sqlite:///{tmp_path / 'c.sqlite3'}", execution_options=cache.engine_options)
    statement = select(Channel.id).where(Channel.names == {"b": 1, "a": [2]})
    for engine, grown in ((canonical, 1), (canonical, 0), (indented, 1), (unshared, 1), (unshared, 0)):
        upgrade(engine)
        before = cache.compiled
        with engine.connect() as connection:
            connection.execute(statement).all()
        assert cache.compiled - before == grown
        engine.dispose()


def test_the_cache_forgets_the_least_recently_used_past_its_bound(tmp_path):
    cache = CompiledStatements(max_entries=2)
    engine = cache.share(create_engine(f"sqlite:///{tmp_path / 'a.sqlite3'}", json_serializer=stored_json,
                                       execution_options=cache.engine_options), stored_json)
    statements = [select(column) for column in (Channel.id, Channel.code, Channel.active)]  # three cache keys
    upgrade(engine)
    with engine.connect() as connection:
        for statement in (statements[0], statements[1], statements[0], statements[2]):
            connection.execute(statement).all()
        assert len(cache) == 2
        before = cache.compiled
        connection.execute(statements[0]).all()  # used more recently than statements[1]: kept
        assert cache.compiled == before
        connection.execute(statements[1]).all()  # forgotten: compiled again
        assert cache.compiled == before + 1
    engine.dispose()


def test_the_read_engine_shares_the_primary_s_statements(postgres_databases):
    url = postgres_databases.create()
    try:
        primary = make_engine(url)
        upgrade(primary)
        reader = make_read_engine(primary, 2)
        statement = select(Channel.code).where(Channel.code == "read-engine-shares").order_by(Channel.id)
        with primary.connect() as connection:
            assert connection.execute(statement).all() == []
        compiled = STATEMENTS.compiled
        with reader.connect() as connection:
            assert connection.execute(statement).all() == []
        assert STATEMENTS.compiled == compiled
    finally:
        for engine in (reader, primary):
            engine.dispose()
        postgres_databases.drop(url)


@pytest.mark.parametrize("bad_key", ["text", ("text",), (), 5, (None, 1)])
def test_a_key_of_another_shape_is_kept_as_it_is(bad_key):
    cache = CompiledStatements()
    cache[bad_key] = "compiled"
    assert cache.get(bad_key) == "compiled" and len(cache) == 1
