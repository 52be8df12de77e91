"""The lean check (api/lean_check.py): the common check answered without Flask, as Flask answers it."""
import logging
from datetime import datetime, timedelta, timezone

import pytest
from freezegun import freeze_time
from limits import parse as parse_limit
from sqlalchemy import event, select
from sqlalchemy.exc import OperationalError
from werkzeug.test import Client

from consent_center.accounts.api_clients import PREFIX_LENGTH, revoke_client
from consent_center.api import lean_check
from consent_center.api.lean_check import LeanCheck
from consent_center.extensions import db, limiter
from consent_center.ledger import Actor, record_change
from consent_center.models import ApiClient, Channel, Source
from consent_center.rights.erasure import erase
from consent_center.subjects.channel_suppression import suppress_on_channel
from consent_center.subjects.deliverability import record_bounce

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)


def _door(app) -> LeanCheck:
    door = app.wsgi_app
    assert isinstance(door, LeanCheck), "the lean check is the app's outermost WSGI layer"
    return door


def _flask_only(app) -> Client:
    """A client that skips the lean door: Flask's own answer."""
    return Client(_door(app).flask_app)


def _answer(response):
    return response.status_code, response.get_data(), sorted(response.headers.items())


@pytest.fixture
def people(app, session, make_subject):
    """A base where every kind of answer occurs (granted, withdrawn, never asked, listed, …)."""
    def grant(subject, changes):
        record_change(session, subject, changes, source=Source.API, actor=Actor.system())

    lea = make_subject("lea@example.com")
    grant(lea, {"email": "granted", "newsletter": "granted"})
    tom = make_subject("tom@example.com")
    grant(tom, {"email": "granted"})
    grant(tom, {"email": "withdrawn"})
    make_subject("never@example.com")
    gone = make_subject("gone@example.com")
    grant(gone, {"email": "granted"})
    erase(session, gone, actor=Actor.system())
    listed = make_subject("listed@example.com")
    grant(listed, {"email": "granted"})
    suppress_on_channel(session, "listed@example.com", "email", source="complaint")
    bouncing = make_subject("bounce@example.com")
    grant(bouncing, {"email": "granted"})
    record_bounce(session, "bounce@example.com", hard=True, at=NOW, detail="550 no such user", provider="test")
    session.scalars(select(Channel).where(Channel.code == "post")).one().active = False
    session.commit()
    return {"lea": lea, "tom": tom}


QUERIES = [
    "channel=email&email=lea@example.com",
    "channel=email&email=LEA%40EXAMPLE.COM",
    "channel=email&email=%EF%BD%8Cea@example.com",  # a fullwidth l: the same address
    "channel=newsletter&email=lea@example.com",
    "channel=email&email=tom@example.com",
    "channel=email&email=never@example.com",
    "channel=email&email=nobody@example.com",
    "channel=email&email=gone@example.com",
    "channel=email&email=listed@example.com",
    "channel=email&email=bounce@example.com",
    "channel=post&email=lea@example.com",
    "channel=email&subject={lea}",
    "channel=email&subject=nobody",
    "channel=email&email=lea@example.com&utm=1",
    # Answered by Flask (an error, or a form the lean door leaves alone), the same either way:
    "channel=nope&email=lea@example.com",
    "channel=email&email=not-an-address",
    "channel=email&email=lea@example.com&email=tom@example.com",
    "channel=email&channel=sms&email=lea@example.com",
    "channel=email",
    "email=lea@example.com",
    "channel=email&email=lea@example.com&subject={lea}",
    "channel=email&email=lea%00@example.com",
    "channel=email&email=%FF%FE@example.com",
    "channel=email&email=lea@example.com&at=2026-03-01T00:00:00Z",
    "channel=email&email=lea@example.com&after=not-a-token",
    "channel=sms&phone=%2B33612345678",
]


@freeze_time(NOW)
@pytest.mark.parametrize("query", QUERIES)
def test_the_lean_door_answers_as_flask_does(app, api, people, query):
    query = query.format(lea=people["lea"].public_id)
    api.get("/check?channel=email&email=warm@example.com")  # the key looked up and its use written
    headers = {"Authorization": f"Bearer {api.key}"}
    lean = api.client.get(f"/api/v1/check?{query}", headers=headers)
    flask = _flask_only(app).get(f"/api/v1/check?{query}", headers=headers)
    assert _answer(lean) == _answer(flask)


@freeze_time(NOW)
def test_the_common_check_never_reaches_flask(app, api, people, monkeypatch):
    api.get("/check?channel=email&email=warm@example.com")

    def flask_called(environ, start_response):
        raise AssertionError(f"Flask answered {environ['PATH_INFO']}?{environ['QUERY_STRING']}")

    monkeypatch.setattr(_door(app), "flask_app", flask_called)
    for query in ("channel=email&email=lea@example.com", "channel=email&email=gone@example.com",
                  f"channel=newsletter&subject={people['lea'].public_id}"):
        assert api.get(f"/check?{query}").status_code == 200


@freeze_time(NOW)
@pytest.mark.parametrize("status, scopes, header", [
    (401, None, ""),
    (401, None, "Bearer cc_not_a_key_at_all_00000000000000000000000"),
    (401, None, "Basic dXNlcjpwYXNz"),
    (403, ("audit:read",), None),
])
def test_a_key_the_door_cannot_vouch_for_is_answered_by_flask(app, client, make_key, people, status, scopes,
                                                             header):
    if header is None:
        key = make_key(*scopes)
        client.get("/api/v1/check?channel=email&email=warm@example.com", headers={"Authorization": f"Bearer {key}"})
        header = f"Bearer {key}"
    response = client.get("/api/v1/check?channel=email&email=lea@example.com",
                          headers={"Authorization": header} if header else {})
    assert response.status_code == status
    assert response.mimetype == "application/problem+json"


def test_a_revoked_key_stops_at_the_caches_end_on_either_door(app, api, session, people):
    with freeze_time(NOW) as clock:
        assert api.get("/check?channel=email&email=lea@example.com").status_code == 200
        revoke_client(session, api.key[:12])
        session.commit()
        clock.tick(timedelta(seconds=app.config["API_KEY_CACHE_SECONDS"]))
        assert api.get("/check?channel=email&email=lea@example.com").status_code == 401


@pytest.mark.settings(API_RATE_LIMIT="3 per minute")
def test_the_per_key_limit_counts_every_check_once(app, api, people):
    answers = [api.get("/check?channel=email&email=lea@example.com").status_code for _ in range(5)]
    assert answers == [200, 200, 200, 429, 429]


def test_last_use_is_still_written_once_a_minute(app, api, session, people):
    with freeze_time(NOW) as clock:
        api.get("/check?channel=email&email=lea@example.com")
        clock.tick(timedelta(minutes=1, seconds=1))
        api.get("/check?channel=email&email=lea@example.com")
    used = session.scalars(select(ApiClient.last_used_at)).one()
    assert used.replace(tzinfo=timezone.utc) == NOW + timedelta(minutes=1, seconds=1)


@freeze_time(NOW)
def test_https_answers_carry_hsts_through_the_lean_door(app, api, people, monkeypatch):
    api.get("/check?channel=email&email=warm@example.com")
    monkeypatch.setattr(_door(app), "flask_app", None)  # any hand-over would fail
    response = api.get("/check?channel=email&email=lea@example.com", base_url="https://localhost")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")
    assert response.headers["Content-Security-Policy"]
    assert "Strict-Transport-Security" not in api.get("/check?channel=email&email=lea@example.com").headers


@freeze_time(NOW)
def test_a_fault_of_the_door_is_logged_and_flask_answers(app, api, people, monkeypatch, caplog):
    api.get("/check?channel=email&email=warm@example.com")

    def broken(data):
        raise RuntimeError("broken")

    monkeypatch.setattr(lean_check, "json_text", broken)
    with caplog.at_level(logging.ERROR, logger="consent_center.api.lean_check"):
        response = api.get("/check?channel=email&email=lea@example.com")
    assert response.status_code == 200 and response.get_json()["allowed"] is True
    assert "the lean check failed" in caplog.text


def _remaining(app, key: str) -> int:
    item = parse_limit(app.config["API_RATE_LIMIT"])
    return limiter.limiter.get_window_stats(item, "api-key", key[:PREFIX_LENGTH]).remaining


@pytest.mark.settings(API_RATE_LIMIT="9 per minute")
def test_a_call_handed_to_flask_is_counted_once(app, api, people):
    api.get("/check?channel=email&email=warm@example.com")
    for _ in range(3):
        assert api.get("/check?channel=nope&email=lea@example.com").status_code == 422
    assert _remaining(app, api.key) == 9 - 4


@pytest.mark.settings(API_RATE_LIMIT="2 per minute")
def test_a_call_over_the_limit_never_asks_the_database(app, api, people):
    for _ in range(2):
        assert api.get("/check?channel=email&email=lea@example.com").status_code == 200
    statements = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(db.read_engine, "before_cursor_execute", count)
    try:
        answers = [api.get("/check?channel=email&email=lea@example.com").status_code for _ in range(3)]
    finally:
        event.remove(db.read_engine, "before_cursor_execute", count)
    assert answers == [429, 429, 429]
    assert statements == []


@freeze_time(NOW)
@pytest.mark.parametrize("stale, status", [(False, 503), (True, 200)])
def test_the_database_is_asked_again_only_for_a_stale_connection(app, api, people, stale, status):
    api.get("/check?channel=email&email=warm@example.com")
    failures = []

    def refuse_once(conn, cursor, statement, *args):
        if not failures:
            failures.append(statement)
            raise OperationalError(statement, {}, Exception("server closed the connection"),
                                   connection_invalidated=stale)

    asked = []
    event.listen(db.read_engine, "before_cursor_execute", refuse_once)
    def answered(conn, cursor, statement, *args):
        asked.append(statement)

    event.listen(db.read_engine, "before_cursor_execute", refuse_once)
    event.listen(db.read_engine, "after_cursor_execute", answered)
    try:
        response = api.get("/check?channel=email&email=lea@example.com")
    finally:
        event.remove(db.read_engine, "before_cursor_execute", refuse_once)
        event.remove(db.read_engine, "after_cursor_execute", answered)
    assert response.status_code == status
    if not stale:
        assert response.mimetype == "application/problem+json" and response.headers["Retry-After"] == "5"
        assert asked == []  # the error the lean door met is answered, not met again
    else:
        assert asked  # one more try, on a new connection


@freeze_time(NOW)
def test_a_query_string_that_is_not_utf8_is_a_400_on_either_door(app, api, people, caplog):
    api.get("/check?channel=email&email=warm@example.com")
    raw = "channel=email&email=l\xe9a@example.com"  # the byte as a server hands it on (latin-1)
    with caplog.at_level(logging.ERROR):
        for client in (api.client, _flask_only(app)):
            response = client.get("/api/v1/check", environ_overrides={"QUERY_STRING": raw},
                                  headers={"Authorization": f"Bearer {api.key}"})
            assert response.status_code == 400 and response.mimetype == "application/problem+json"
    assert "lean check failed" not in caplog.text


@freeze_time(NOW)
def test_a_websocket_scheme_is_left_to_flask(app, api, people):
    api.get("/check?channel=email&email=warm@example.com")
    headers = {"Authorization": f"Bearer {api.key}"}
    lean = api.client.get("/api/v1/check?channel=email&email=lea@example.com", headers=headers,
                          environ_overrides={"wsgi.url_scheme": "wss"})
    flask = _flask_only(app).get("/api/v1/check?channel=email&email=lea@example.com", headers=headers,
                                 environ_overrides={"wsgi.url_scheme": "wss"})
    assert _answer(lean) == _answer(flask)
