"""The declarative base every model derives from, and its column types."""
from __future__ import annotations

import json
from datetime import datetime, timezone

from sqlalchemy import DateTime, MetaData, Text, TypeDecorator, cast, func
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import UserDefinedType

# The largest number an integer column holds on PostgreSQL: Integer (integer) and
# BigInteger (bigint; SQLite's integers stop there too). A number from outside
# beyond its column's would fail in the driver or the database, not answer.
INTEGER_MAX = 2**31 - 1
BIGINT_MAX = 2**63 - 1

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator):
    """A timezone-aware UTC timestamp on every engine (SQLite has no zones)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime refused: use consent_center.clock.utcnow()")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


def isoformat_sql(column, dialect: str):
    """A UTCDateTime column as ``datetime.isoformat()`` writes its value, formatted by the database.

    That is ``YYYY-MM-DDTHH:MM:SS[.ffffff]+00:00``: no fraction at a whole
    second. NULL stays NULL (``||``, not ``concat()``).
    """
    if dialect == "postgresql":
        text = func.to_char(func.timezone("UTC", column), 'YYYY-MM-DD"T"HH24:MI:SS.US', type_=Text)
    else:  # SQLite keeps UTC as 'YYYY-MM-DD HH:MM:SS.ffffff' (SQLAlchemy's DATETIME storage format, which
        # comparisons with bound times as text rely on too): a custom storage_format would break both.
        text = func.replace(cast(column, Text), " ", "T", type_=Text)
    return func.replace(text, ".000000", "", type_=Text).concat("+00:00")


def text_array_literal(texts: list[str]) -> str:
    """PostgreSQL's literal of a ``text[]`` holding ``texts``, every element quoted."""
    together = "".join(texts)
    if "\\" in together or '"' in together:
        texts = [t.replace("\\", "\\\\").replace('"', '\\"') for t in texts]
    return '{"' + '","'.join(texts) + '"}' if texts else "{}"


class TextArrayLiteral(UserDefinedType):
    """PostgreSQL: a list of texts bound as one ``text[]`` literal (``text_array_literal``).

    psycopg's array dumper looks at each element with a regular expression,
    a third of a bulk check's Python. The parameter goes without a cast, so
    that PostgreSQL types it ``text[]`` from its use and plans it as a
    constant, which it hashes for ``= ANY``; a cast from text would be
    evaluated again for every row.
    """

    cache_ok = True

    def get_col_spec(self, **kw) -> str:
        return "TEXT[]"

    def bind_processor(self, dialect):
        return text_array_literal


class TextListAsJSON(TypeDecorator):
    """SQLite: a list of texts bound as one JSON array, which ``json_each`` reads back.

    One parameter in place of one per text: SQLAlchemy names and renders an
    expanding ``IN`` parameter by parameter, a third of a bulk check there.
    """

    impl = Text
    cache_ok = True

    def process_bind_param(self, value, dialect):
        return json.dumps(value, ensure_ascii=False)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
