"""The change feed: oldest first, opaque cursor, nothing skipped or repeated."""
import threading
import time

import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.orm import Session

from consent_center import create_app
from consent_center.accounts.api_clients import create_client
from consent_center.extensions import db
from consent_center.ledger import Actor, feed, record_change
from consent_center.models import ConsentEvent, Source, Subject
from consent_center.subjects.service import create_subject

from .api_fixtures import ApiClient, assert_matches_spec, assert_problem


def read_all(api, after=None, limit=7, expect: int | None = None, **filters) -> tuple[list[dict], str]:
    """Follow the feed to its end; return the events and the last cursor.

    With ``expect``, keep polling (as a tool does) until that many events came:
    on PostgreSQL a write transaction of the test's database still open holds
    the feed back for its duration.
    """
    events = []
    deadline = time.monotonic() + 120
    while True:
        query = {"limit": limit, **filters} | ({"after": after} if after else {})
        response = api.get("/events", query_string=query)
        assert response.status_code == 200, response.get_data(as_text=True)
        page = response.get_json()
        events.extend(page["events"])
        after = page["next"]
        if page["has_more"]:
            continue
        if expect is None or len(events) >= expect:
            return events, after
        if time.monotonic() > deadline:
            return events, after
        time.sleep(0.05)


def toggle(session, subject, channel, status):
    record_change(session, subject, {channel: status}, source=Source.API, actor=Actor.system())
    session.commit()


def test_feed_pages_through_every_event_oldest_first(app, api, session, make_subject):
    lea = make_subject("lea@example.com")
    make_subject("tom@example.com")
    toggle(session, lea, "newsletter", "granted")
    stored = session.scalars(select(ConsentEvent.public_id).order_by(ConsentEvent.id)).all()
    session.rollback()
    events, cursor = read_all(api, limit=3, expect=len(stored))
    assert [e["id"] for e in events] == list(stored)
    assert events[-1]["status"] == "granted" and events[-1]["email"] == "lea@example.com"
    assert events[-1]["allowed"] is True and events[-1]["previous_status"] == "never_asked"
    page = api.get("/events", query_string={"after": cursor}).get_json()
    assert page == {"events": [], "next": cursor, "has_more": False}
    lea = session.scalars(select(Subject).where(Subject.email == "lea@example.com")).one()
    toggle(session, lea, "newsletter", "withdrawn")
    later, _ = read_all(api, after=cursor, expect=1)
    assert [(e["channel"], e["status"]) for e in later] == [("newsletter", "withdrawn")]
    assert_matches_spec(app, api.get("/events").get_json(), "FeedPage")


def test_feed_filters_by_channel_and_since(api, session, make_subject):
    from freezegun import freeze_time

    with freeze_time("2026-01-01T00:00:00Z"):
        lea = make_subject("lea@example.com")
    with freeze_time("2026-02-01T00:00:00Z"):
        toggle(session, lea, "sms", "withdrawn")
        toggle(session, lea, "newsletter", "granted")
    sms, _ = read_all(api, channel="sms", expect=2)
    assert [e["status"] for e in sms] == ["never_asked", "withdrawn"]
    recent, _ = read_all(api, since="2026-01-15T00:00:00Z", expect=2)
    assert [(e["channel"], e["status"]) for e in recent] == [("sms", "withdrawn"), ("newsletter", "granted")]


@pytest.mark.parametrize("query", [{"after": "garbage"}, {"after": "MS54"}, {"limit": 0}, {"limit": "x"},
                                   {"channel": "fax"}, {"since": "yesterday"}])
def test_bad_feed_queries_are_422(api, query):
    assert_problem(api.get("/events", query_string=query), 422, "validation-error")


def test_cursor_is_opaque(api, make_subject):
    make_subject("lea@example.com")
    cursor = read_all(api, limit=1, expect=1)[1]
    assert cursor.isascii() and not cursor.isdigit() and "=" not in cursor


def test_feed_pages_through_concurrent_inserts_without_loss_or_repetition(app, api, session):
    """Writers on several subjects commit while a reader pages; then the reader drains."""
    subjects = [create_subject(session, actor=Actor.system(), email=f"w{i}@example.com").public_id
                for i in range(3)]
    session.commit()
    _, start = read_all(api, expect=12)
    errors = []

    def write(public_id: str) -> None:
        with app.app_context():
            try:
                for i in range(15):
                    subject = db.session.scalars(select(Subject).where(Subject.public_id == public_id)).one()
                    toggle(db.session, subject, "newsletter", "granted" if i % 2 == 0 else "withdrawn")
                    time.sleep(0.002)
            except Exception as exc:  # reported below
                errors.append(exc)
            finally:
                db.session.remove()

    writers = [threading.Thread(target=write, args=(pid,)) for pid in subjects]
    for w in writers:
        w.start()
    seen, cursor = [], start
    while any(w.is_alive() for w in writers):
        page = api.get("/events", query_string={"after": cursor, "limit": 4}).get_json()
        seen.extend(e["id"] for e in page["events"])
        cursor = page["next"]
    for w in writers:
        w.join()
    assert errors == []
    rest, _ = read_all(api, after=cursor, limit=4, expect=45 - len(seen))
    seen.extend(e["id"] for e in rest)
    session.rollback()
    written = session.scalars(select(ConsentEvent.public_id).where(ConsentEvent.source == Source.API)).all()
    assert len(seen) == len(set(seen)) == 45
    assert set(seen) == set(written)


@pytest.fixture
def app_on_postgres(postgres_databases):
    """An app on a PostgreSQL database of its own, whatever the suite's backend; its context pushed."""
    url = postgres_databases.create()
    app = create_app({"TESTING": True, "DATABASE_URL": url})
    try:
        with app.app_context():
            yield app
            db.session.remove()
    finally:
        db.engine.dispose()
        postgres_databases.drop(url)


SLOW_AND_FAST = ("slow@example.com", "fast@example.com")


def two_subjects() -> None:
    for email in SLOW_AND_FAST:
        create_subject(db.session, actor=Actor.system(), email=email)
    db.session.commit()
    db.session.remove()


def slow_and_fast() -> tuple[Session, ConsentEvent, Session, ConsentEvent]:
    """Two writers of their own: each records a change, neither commits; the slow one took the lower id."""
    found = []
    for email in SLOW_AND_FAST:
        writer = Session(db.engine)
        subject = writer.scalars(select(Subject).where(Subject.email == email)).one()
        found += [writer, record_change(writer, subject, {"sms": "withdrawn"}, source=Source.API,
                                        actor=Actor.system()).events[0]]
    assert found[1].id < found[3].id
    return tuple(found)


def feed_reader(app) -> ApiClient:
    key = create_client(db.session, "feed reader", ["consent:read"]).key
    db.session.commit()
    return ApiClient(app.test_client(), key)


@pytest.mark.postgres
def test_on_postgres_an_event_committed_out_of_id_order_is_not_skipped(app_on_postgres):
    """Event N+1 commits while N is still in flight: the feed waits for N, then serves N, N+1."""
    two_subjects()
    api = feed_reader(app_on_postgres)
    _, cursor = read_all(api, expect=8)
    slow, slow_event, fast, fast_event = slow_and_fast()
    fast.commit()
    with db.engine.connect() as reader:  # what reading by id alone would see: N+1 without N
        naive = reader.scalars(select(ConsentEvent.id).where(ConsentEvent.id >= slow_event.id)).all()
    assert naive == [fast_event.id]

    waiting = api.get("/events", query_string={"after": cursor}).get_json()
    assert waiting["events"] == [] and waiting["next"] == cursor

    slow.commit()
    events, _ = read_all(api, after=cursor, expect=2)
    assert [e["id"] for e in events] == [slow_event.public_id, fast_event.public_id]
    slow.close()
    fast.close()


@pytest.mark.postgres
def test_on_postgres_a_transaction_left_open_in_another_database_holds_nothing_back(app_on_postgres,
                                                                                   postgres_databases):
    """Another application's session on the same server, open for hours, must not stall our feed."""
    elsewhere = postgres_databases.create()
    other = create_engine(elsewhere)
    try:
        with other.connect() as open_elsewhere:
            held = open_elsewhere.execute(text("SELECT pg_current_xact_id()::text::bigint")).scalar()
            api = feed_reader(app_on_postgres)
            subject = create_subject(db.session, actor=Actor.system(), email="lea@example.com")
            event = record_change(db.session, subject, {"sms": "withdrawn"}, source=Source.API,
                                  actor=Actor.system()).events[0]
            db.session.commit()
            assert event.txid > held  # what the server-wide xmin would have held back
            page = api.get("/events", query_string={"limit": 100}).get_json()
            assert event.public_id in [e["id"] for e in page["events"]]
            assert open_elsewhere.execute(text("SELECT pg_current_xact_id()::text::bigint")).scalar() == held
    finally:
        other.dispose()
        postgres_databases.drop(elsewhere)


@pytest.mark.postgres
def test_on_postgres_a_repeatable_read_feed_skips_no_event_committed_after_its_snapshot(app_on_postgres):
    """An operator may set default_transaction_isolation: the horizon comes from the page's own snapshot.

    T writes, F writes and commits, the reader's snapshot is taken, T commits: the
    snapshot sees F's event but not T's, so the page must not serve F past T.
    """
    two_subjects()
    end = feed.read_page(db.session, feed.START, 1000).next
    db.session.remove()
    reader = Session(db.engine.execution_options(isolation_level="REPEATABLE READ"))
    slow, slow_event, fast, fast_event = slow_and_fast()
    fast.commit()
    reader.execute(text("SELECT 1"))  # the reader's snapshot: F committed, T running
    slow.commit()
    page = feed.read_page(reader, end, 1000)
    assert page.events == [] and page.next == end  # F is not served past T
    reader.rollback()
    later = feed.read_page(reader, end, 1000)
    assert [e["id"] for e in later.events] == [slow_event.public_id, fast_event.public_id]
    for session in (slow, fast, reader):
        session.close()
