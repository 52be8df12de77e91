"""Many rows into a table at once: COPY on PostgreSQL, an executemany elsewhere.

On PostgreSQL an executemany of thousands of rows costs the driver more to
build and parse (one statement of every row's placeholders) than the server
to run; COPY's rows are formatted by the driver's C code and sent as one stream.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from psycopg.types.json import Json
from sqlalchemy import JSON, Connection, Table, insert


def insert_rows(connection: Connection, table: Table, columns: Sequence[str], rows: Iterable[Sequence], *,
                json_dumps: Callable[[object], str] | None = None) -> None:
    """Insert ``rows`` (tuples in the order of ``columns``, the table's column names), in the connection's transaction.

    JSON columns go through the engine's own serializer on every engine but
    PostgreSQL, where ``copy_rows`` needs it given."""
    if connection.dialect.name == "postgresql":
        copy_rows(connection, table, columns, rows, json_dumps=json_dumps)
        return
    found = [dict(zip(columns, row)) for row in rows]
    if found:
        connection.execute(insert(table), found)


def copy_rows(connection: Connection, table: Table, columns: Sequence[str], rows: Iterable[Sequence], *,
              json_dumps: Callable[[object], str] | None = None) -> None:
    """PostgreSQL: ``COPY table (columns) FROM STDIN``; JSON values written by ``json_dumps`` (the
    engine's serializer, so they are stored as an INSERT stores them)."""
    json_columns = [i for i, name in enumerate(columns) if isinstance(table.c[name].type, JSON)]
    if json_columns and json_dumps is None:
        raise ValueError(f"{table.name} has JSON columns: give json_dumps, the engine's serializer")
    with connection.connection.driver_connection.cursor() as cursor:
        with cursor.copy(f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                if json_columns:
                    row = list(row)
                    for i in json_columns:
                        row[i] = Json(row[i], dumps=json_dumps)
                copy.write_row(row)
