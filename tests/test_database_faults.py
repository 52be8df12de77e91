"""Faults of the database itself: unreachable, or gone in the middle of a commit.

Real faults on a real PostgreSQL: the test's database refuses connections
(``ALLOW_CONNECTIONS false``, its sessions terminated), or the server
terminates the connection at COMMIT (a deferred trigger calling
``pg_terminate_backend``). Pages answer 503, the API a problem+json 503,
/readyz fails, and once the database is back nothing half-written remains.
"""
from __future__ import annotations

import shutil

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from consent_center import create_app
from consent_center.accounts.service import create_account
from consent_center.accounts.api_clients import create_client
from consent_center.extensions import db, make_engine
from consent_center.ledger import Actor
from consent_center.migrate import upgrade
from consent_center.models import ConsentEvent, ConsentState, Receipt, Role

from .api_fixtures import assert_problem
from .conftest import PASSWORD, IsolatedClient, csrf_from, form_post
from .ledger_consistency import assert_ledger_consistent

CHANGE = {"channel": "email", "status": "withdrawn", "source": "api"}


@pytest.fixture
def pg(postgres_databases, tmp_path):
    """An app on its own PostgreSQL database, a logged-in customer and an API key."""
    url = postgres_databases.create()
    app = create_app({"TESTING": True, "DATABASE_URL": url, "RECEIPT_KEY_DIR": str(tmp_path / "keys")})
    app.test_client_class = IsolatedClient
    # Not propagated: a fault must reach the error handlers as in production.
    app.config["PROPAGATE_EXCEPTIONS"] = False
    with app.app_context():
        account = create_account(db.session, email="c@example.com", password=PASSWORD, role=Role.CUSTOMER,
                                 actor=Actor.system(), locale="en")
        subject = account.subject.public_id
        key = create_client(db.session, "Fault test", ["consent:read", "consent:write"]).key
        db.session.commit()
        db.session.remove()
    client = app.test_client()
    assert form_post(client, "/login", {"email": "c@example.com", "password": PASSWORD}).status_code == 302
    admin = create_engine(make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    yield app, client, subject, {"Authorization": f"Bearer {key}"}, url, admin
    with admin.connect() as conn:
        conn.execute(text(f'ALTER DATABASE "{make_url(url).database}" ALLOW_CONNECTIONS true'))
    admin.dispose()
    with app.app_context():
        db.engine.dispose()
    postgres_databases.drop(url)


def counts(app) -> tuple[int, int, int]:
    with app.app_context():
        found = tuple(db.session.scalar(select(func.count()).select_from(table))
                      for table in (ConsentEvent, Receipt, ConsentState))
        db.session.remove()
        return found


@pytest.mark.postgres
def test_with_the_database_unreachable_everything_answers_503_and_nothing_is_written(pg):
    app, client, subject, headers, url, admin = pg
    before = counts(app)
    token = csrf_from(client.get("/space/preferences").get_data(as_text=True))
    name = make_url(url).database
    with admin.connect() as conn:
        conn.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false'))
        conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :name"),
                     {"name": name})

    page = client.get("/space/preferences")
    assert page.status_code == 503 and page.headers["Retry-After"] == "5"
    assert "text/html" in page.content_type
    saved = client.post("/space/preferences", data={"csrf_token": token, "active": ["sms"]})
    assert saved.status_code == 503
    api = client.post(f"/api/v1/subjects/{subject}/consents", json=CHANGE, headers=headers)
    assert_problem(api, 503, "unavailable")
    assert api.headers["Retry-After"] == "5"
    check = client.get("/api/v1/check?channel=email&email=c@example.com", headers=headers)
    assert_problem(check, 503, "unavailable")
    ready = app.test_client().get("/readyz")  # a load balancer's probe: no cookie
    assert ready.status_code == 503 and ready.json["database"] == "unreachable"

    with admin.connect() as conn:  # the database is back
        conn.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true'))
    assert app.test_client().get("/readyz").status_code == 200
    assert counts(app) == before
    assert client.post(f"/api/v1/subjects/{subject}/consents", json=CHANGE, headers=headers).status_code == 201


CUT_AT_COMMIT = [
    """CREATE FUNCTION cut_at_commit() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN PERFORM pg_terminate_backend(pg_backend_pid()); RETURN NULL; END $$""",
    """CREATE CONSTRAINT TRIGGER cut_at_commit AFTER INSERT ON receipts
       DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION cut_at_commit()""",
]


def run_sql(url: str, *statements: str) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        for statement in statements:
            conn.execute(text(statement))
    engine.dispose()


@pytest.mark.postgres
def test_a_commit_cut_by_the_database_leaves_nothing_half_written(pg):
    app, client, subject, headers, url, admin = pg
    before = counts(app)
    run_sql(url, *CUT_AT_COMMIT)  # the server kills whichever session commits a receipt

    page = form_post(client, "/space/preferences", {"active": ["email", "sms", "post", "newsletter"]})
    assert page.status_code == 503 and page.headers["Retry-After"] == "5"
    api = client.post(f"/api/v1/subjects/{subject}/consents", json=CHANGE, headers=headers)
    assert_problem(api, 503, "unavailable")
    # Each request had flushed its event, state and receipt before the commit was cut.
    assert counts(app) == before

    run_sql(url, "DROP TRIGGER cut_at_commit ON receipts")
    with app.app_context():
        assert_ledger_consistent(db.session)
        db.session.remove()
    assert client.post(f"/api/v1/subjects/{subject}/consents", json=CHANGE, headers=headers).status_code == 201
    assert form_post(client, "/space/preferences", {"active": ["sms"]}).status_code == 302
    with app.app_context():
        assert_ledger_consistent(db.session)
        db.session.remove()
    assert counts(app)[0] > before[0]


def test_the_api_answers_problem_json_503_when_the_sqlite_file_goes_away(tmp_path):
    folder = tmp_path / "db"
    folder.mkdir()
    url = f"sqlite:///{folder}/cc.sqlite3"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    app = create_app({"TESTING": True, "DATABASE_URL": url, "RECEIPT_KEY_DIR": str(tmp_path / "keys")})
    app.test_client_class = IsolatedClient
    with app.app_context():
        key = create_client(db.session, "Fault test", ["consent:read"]).key
        db.session.commit()
        db.session.remove()
    shutil.rmtree(folder)
    db.engine.dispose()
    response = app.test_client().get("/api/v1/check?channel=email&email=c@example.com",
                                     headers={"Authorization": f"Bearer {key}"})
    body = assert_problem(response, 503, "unavailable")
    assert "nothing was changed" in body["detail"]


@pytest.mark.postgres
def test_an_error_page_while_the_database_is_unreachable_answers_503(pg):
    """A refused CSRF token or an unknown page shows who is logged in: that asks the database too."""
    app, client, subject, headers, url, admin = pg
    name = make_url(url).database
    with admin.connect() as conn:
        conn.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false'))
        conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :name"),
                     {"name": name})
    for response in (client.post("/space/preferences", data={"active": ["sms"]}),  # no CSRF token
                     client.get("/no-such-page")):
        assert response.status_code == 503 and response.headers["Retry-After"] == "5"


def test_a_file_answer_replaced_by_the_outage_page_is_closed(app, client, auth, customer, monkeypatch):
    """The commit fails after a static file was opened: the file is closed, not left to the collector.

    An unclosed file is an unraisable ResourceWarning, which this suite makes an error.
    """
    assert auth.login("camille@example.com").status_code == 302  # the login loads the account: a session
    opened = []
    real_open = open

    def spy_open(*args, **kwargs):
        handle = real_open(*args, **kwargs)
        if str(args[0]).endswith("favicon.svg"):
            opened.append(handle)
        return handle

    def cut(self):
        raise OperationalError("COMMIT", {}, Exception("server closed the connection unexpectedly"))

    monkeypatch.setattr("builtins.open", spy_open)
    monkeypatch.setattr(Session, "commit", cut)
    response = client.get("/static/favicon.svg")
    assert response.status_code == 503
    assert opened and all(handle.closed for handle in opened)
