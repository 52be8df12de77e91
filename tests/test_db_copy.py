"""Many rows at once (db/copy.py): COPY on PostgreSQL stores what an INSERT stores, JSON included."""
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import JSON, BigInteger, Column, LargeBinary, MetaData, String, Table, insert, select, text
from sqlalchemy.exc import IntegrityError, StatementError

from consent_center.db import UTCDateTime
from consent_center.db.copy import insert_rows

metadata = MetaData()
things = Table("copy_things", metadata, Column("id", BigInteger, primary_key=True), Column("name", String(40)),
               Column("body", JSON), Column("digest", LargeBinary(32)), Column("at", UTCDateTime))
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
    insert_rows(connection, things, ("id", "name", "body", "digest"), ROWS)
    by_copy = stored(connection)
    connection.execute(things.delete())
    connection.execute(insert(things), [dict(zip(("id", "name", "body", "digest"), row)) for row in ROWS])
    assert by_copy == stored(connection)
    assert by_copy[0][2] == '{"a":"é","b":[1,2]}' and by_copy[1][1] == ROWS[1][1] and bytes(by_copy[1][3]) == b"\xff\x01"
    assert connection.execute(select(things.c.body).where(things.c.id == 3)).scalar_one() == {"nested": {"k": None}}


def test_values_go_through_their_column_types_as_an_insert_s_do(connection):
    noon_paris = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc).astimezone(
        timezone(timedelta(hours=1)))
    insert_rows(connection, things, ("id", "at"), [(1, noon_paris)])
    assert connection.execute(select(things.c.at)).scalar_one() == datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)
    with pytest.raises((StatementError, ValueError), match="timezone|zone|naive|aware"):
        insert_rows(connection, things, ("id", "at"), [(2, datetime(2026, 3, 1, 12, 0))])


def test_a_database_error_comes_out_as_sqlalchemy_s(connection):
    insert_rows(connection, things, ("id", "name"), [(1, "first")])
    nested = connection.begin_nested()
    with pytest.raises(IntegrityError):
        insert_rows(connection, things, ("id", "name"), [(1, "the same id")])
    nested.rollback()
    assert connection.execute(select(things.c.name)).scalars().all() == ["first"]
