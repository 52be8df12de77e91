"""An erasure on SQLite leaves the erased values nowhere in the database file or its WAL, free pages included.

SQLite marks a deleted or overwritten row's bytes free and leaves them in
the file, and the WAL keeps every page version written since the last
checkpoint: a copy of the file would still hold the person. The raw bytes
are read here, as anyone holding the file could.
"""
from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.engine import make_url

from consent_center.models import DataRequest, Role

from .conftest import PASSWORD, form_post

# Distinctive, so that nothing else in the file can spell them.
EMAIL = "quillon.zebedaeus@example.org"
NAME = "Quillon Zebedaeus-Vantongerloo"
DETAILS = "Forget Quillon Zebedaeus-Vantongerloo entirely"
STAFF = "ada@example.com"


@pytest.fixture
def database_file(database_url) -> Path:
    if not database_url.startswith("sqlite"):
        pytest.skip("SQLite keeps erased rows in its file's free pages and WAL; PostgreSQL's VACUUM is its own matter")
    return Path(make_url(database_url).database)


def raw_bytes(path: Path) -> bytes:
    return b"".join(p.read_bytes() for p in (path, Path(f"{path}-wal")) if p.exists())


def test_an_erased_persons_values_are_not_left_in_the_sqlite_file_or_its_wal(
        app, client, auth, session, make_account, database_file):
    make_account(STAFF, role=Role.ADMIN, locale="en")
    make_account(EMAIL, name=NAME, locale="en", password=PASSWORD)
    auth.login(EMAIL)
    assert form_post(client, "/space/requests", {"kind": "erasure", "details": DETAILS}).status_code == 302
    auth.logout()
    # Long before an erasure, SQLite has copied the person's pages from the WAL into the file itself.
    with sqlite3.connect(database_file) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    connection.close()
    before = database_file.read_bytes()
    assert all(value.encode() in before for value in (EMAIL, NAME, DETAILS))  # the search finds what is there

    session.rollback()
    request = session.scalars(select(DataRequest).where(DataRequest.kind == "erasure")).one()
    page = f"/admin/requests/{request.public_id}"
    session.remove()
    auth.login(STAFF)
    identity = {"method": "known_session", "evidence": "Filed from the signed-in space"}
    assert form_post(client, page, identity, action=f"{page}/verify").status_code == 302
    assert form_post(client, page, {}, action=f"{page}/carry-out").status_code == 302

    after = raw_bytes(database_file)
    for value in (EMAIL, NAME, DETAILS, EMAIL.split("@")[0], "Vantongerloo"):
        assert value.encode() not in after, f"{value!r} is still in the database file or its WAL"
