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


def test_engines_with_another_json_writer_or_reader_keep_statements_of_their_own(tmp_path):
    """A JSON parameter is written by the dialect's serializer, a JSON column read by its deserializer,
    both fixed in a statement when it is first compiled and run: engines made with others must not
    share it."""
    cache = CompiledStatements()

    def indented(value):
        return json.dumps(value, indent=1)

    def tagged(text):
        return {"read by": "tagged", **json.loads(text)}

    engines = {name: cache.create_engine(f"sqlite:///{tmp_path / f'{name}.sqlite3'}", **options)
               for name, options in (("canonical", {"json_serializer": stored_json}),
                                     ("indented", {"json_serializer": indented}),
                                     ("tagged", {"json_serializer": stored_json, "json_deserializer": tagged}),
                                     ("plain", {}))}
    unshared = create_engine(f"sqlite:///{tmp_path / 'unshared.sqlite3'}", execution_options={"compiled_cache": cache})
    insert = Channel.__table__.update().where(Channel.code == "email").values(names={"b": 1, "a": [2]})
    read = select(Channel.names).where(Channel.code == "email")
    stored = {}
    for name, engine, grown in (("canonical", engines["canonical"], 2), ("canonical", engines["canonical"], 0),
                                ("indented", engines["indented"], 2), ("tagged", engines["tagged"], 2),
                                ("plain", engines["plain"], 2), ("unshared", unshared, 2), ("unshared", unshared, 0)):
        upgrade(engine)
        before = cache.compiled
        with engine.begin() as connection:
            connection.execute(insert)
            stored[name] = (connection.exec_driver_sql("SELECT names FROM channels WHERE code = 'email'").scalar(),
                            connection.execute(read).scalar())
        assert cache.compiled - before == grown, name
        engine.dispose()
    assert stored["canonical"][0] == stored_json({"b": 1, "a": [2]}) and stored["indented"][0].startswith("{\n")
    assert stored["tagged"][1] == {"read by": "tagged", "a": [2], "b": 1}
    assert stored["canonical"][1] == stored["plain"][1] == {"a": [2], "b": 1}


def test_an_engine_keeps_its_execution_options_on_its_connections(tmp_path):
    with pytest.raises(TypeError):
        CompiledStatements().create_engine(f"sqlite:///{tmp_path / 'a.sqlite3'}",
                                           execution_options={"isolation_level": "SERIALIZABLE"})


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
