"""Many rows into a table at once: COPY on PostgreSQL, an executemany elsewhere.

On PostgreSQL an executemany of thousands of rows costs the driver more to
build and parse (one statement of every row's placeholders) than the server
to run; COPY's rows are formatted by the driver's C code and sent as one stream.
Each value still goes through its column type's own conversion, as an INSERT's
(``UTCDateTime`` refuses a moment without its zone; JSON is the engine's
serializer's text), and a database error comes out as SQLAlchemy's, as an INSERT's.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence

import psycopg
from psycopg import sql
from sqlalchemy import Connection, Table, insert
from sqlalchemy.exc import DBAPIError


def insert_rows(connection: Connection, table: Table, columns: Sequence[str], rows: Iterable[Sequence]) -> None:
    """Insert ``rows`` (tuples in the order of ``columns``, the table's column names), in the connection's transaction."""
    if connection.dialect.name == "postgresql":
        copy_rows(connection, table, columns, rows)
        return
    found = [dict(zip(columns, row)) for row in rows]
    if found:
        connection.execute(insert(table), found)


def copy_rows(connection: Connection, table: Table, columns: Sequence[str], rows: Iterable[Sequence]) -> None:
    """PostgreSQL: ``COPY table (columns) FROM STDIN``, in the connection's transaction."""
    dialect = connection.dialect
    converters = [(i, processor) for i, name in enumerate(columns)
                  if (processor := table.c[name].type.dialect_impl(dialect).bind_processor(dialect)) is not None]
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table.name), sql.SQL(", ").join(map(sql.Identifier, columns)))
    driver = connection.connection.driver_connection
    try:
        with driver.cursor() as cursor, cursor.copy(statement) as copy:
            for row in rows:
                if converters:
                    row = list(row)
                    for i, processor in converters:
                        row[i] = processor(row[i])
                copy.write_row(row)
    except psycopg.Error as error:
        # As SQLAlchemy's own execution would: its error, and a lost connection never handed out again.
        lost = dialect.is_disconnect(error, connection.connection.dbapi_connection, None)
        if lost:
            connection.invalidate(error)
        raise DBAPIError.instance(statement.as_string(driver), None, error, psycopg.Error,
                                  connection_invalidated=lost, dialect=dialect) from error
