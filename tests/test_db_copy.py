"""Many rows at once (db/copy.py): COPY on PostgreSQL stores what an INSERT stores, JSON included."""
import pytest
from sqlalchemy import JSON, BigInteger, Column, LargeBinary, MetaData, String, Table, insert, select, text

from consent_center.canonical import stored_json
from consent_center.db.copy import copy_rows, insert_rows

metadata = MetaData()
things = Table("copy_things", metadata, Column("id", BigInteger, primary_key=True), Column("name", String(40)),
               Column("body", JSON), Column("digest", LargeBinary(32)))
ROWS = [(1, "plain", {"b": [1, 2], "a": "é"}, b"\x00" * 32),
        (2, "tab\there\nnewline \\ backslash", None, b"\xff\x01"),
        (3, None, {"nested": {"k": None}}, None)]


@pytest.fixture
def connection(app, session):
    connection = session.connection()
    metadata.create_all(connection)
    return connection


def stored(connection):
    return connection.execute(text("SELECT id, name, CAST(body AS TEXT), digest FROM copy_things ORDER BY id")).all()


def test_insert_rows_stores_what_an_insert_stores(connection):
    insert_rows(connection, things, ("id", "name", "body", "digest"), ROWS, json_dumps=stored_json)
    by_copy = stored(connection)
    connection.execute(things.delete())
    connection.execute(insert(things), [dict(zip(("id", "name", "body", "digest"), row)) for row in ROWS])
    assert by_copy == stored(connection)
    assert by_copy[0][2] == '{"a":"é","b":[1,2]}' and by_copy[1][1] == ROWS[1][1] and bytes(by_copy[1][3]) == b"\xff\x01"
    assert connection.execute(select(things.c.body).where(things.c.id == 3)).scalar_one() == {"nested": {"k": None}}


def test_a_json_column_without_the_engine_serializer_is_refused_on_postgresql(connection):
    if connection.dialect.name != "postgresql":
        pytest.skip("COPY is PostgreSQL's: other engines serialise JSON through the engine")
    with pytest.raises(ValueError, match="JSON columns"):
        copy_rows(connection, things, ("id", "body"), [(1, {})])
    insert_rows(connection, things, ("id", "name"), [(9, "no JSON column")])  # none given, none needed
    assert connection.execute(select(things.c.name)).scalar_one() == "no JSON column"
