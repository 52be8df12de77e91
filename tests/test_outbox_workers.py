"""Several outbox workers at once never deliver one message twice."""
import multiprocessing
from collections import Counter

import pytest
from sqlalchemy import func, select

from consent_center import create_app
from consent_center.extensions import db
from consent_center.outbox.mail import enqueue_email
from consent_center.models import OutboxMessage
from consent_center.outbox.queue import deliver_due

MESSAGES = 120


def settings(url: str, port: int) -> dict:
    return {"TESTING": True, "DATABASE_URL": url, "MAIL_BACKEND": "smtp", "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": port, "SMTP_STARTTLS": False, "SMTP_TIMEOUT": 10,
            "MAIL_FROM": "Consent Center <no-reply@consent.example>"}


def work(url: str, port: int, start, results) -> None:
    """In its own process: deliver, one message per lease, until nothing is due."""
    app = create_app(settings(url, port))
    start.wait()
    with app.app_context():
        try:
            tally = deliver_due(db.session, limit=1)
            results.put(("ok", tally.delivered))
        except Exception as exc:  # reported to the parent, which fails the test
            results.put(("error", repr(exc)))
        finally:
            db.session.remove()
            db.engine.dispose()


def race_two_workers(url: str, mailbox) -> Counter:
    """Two workers deliver MESSAGES at once; check each went once; return sends by Message-ID."""
    app = create_app(settings(url, mailbox.port))
    with app.app_context():
        ids = [enqueue_email(db.session, topic="double_opt_in", to=f"reader{i}@example.com", locale="fr",
                             signup=f"{i:032d}").public_id for i in range(MESSAGES)]
        db.session.commit()
        db.session.remove()
    ctx = multiprocessing.get_context("spawn")
    start, results = ctx.Event(), ctx.Queue()
    workers = [ctx.Process(target=work, args=(url, mailbox.port, start, results)) for _ in range(2)]
    for w in workers:
        w.start()
    start.set()
    outcomes = [results.get(timeout=240) for _ in workers]
    for w in workers:
        w.join(timeout=60)
        assert w.exitcode == 0
    assert all(kind == "ok" for kind, _ in outcomes), outcomes
    assert sum(n for _, n in outcomes) == MESSAGES
    assert all(n > 0 for _, n in outcomes), f"one worker did everything: {outcomes}"

    sent = Counter(m.message["Message-ID"] for m in mailbox.messages)
    assert sent == Counter({f"<{i}@consent.example>": 1 for i in ids})
    with app.app_context():
        assert db.session.scalar(select(func.count()).where(OutboxMessage.status == "delivered")) == MESSAGES
        assert db.session.scalar(select(func.max(OutboxMessage.attempts))) == 1
        db.session.remove()
        db.engine.dispose()
    return sent


def test_two_workers_on_the_suite_backend_deliver_each_message_once(database_url, smtp_server):
    """SQLite serialises the claims; PostgreSQL skips locked rows."""
    sent = race_two_workers(database_url, smtp_server)
    assert len(sent) == MESSAGES and set(sent.values()) == {1}


@pytest.mark.postgres
def test_two_workers_on_postgres_never_deliver_a_message_twice(postgres_databases, smtp_server):
    url = postgres_databases.create()
    try:
        sent = race_two_workers(url, smtp_server)
        assert len(sent) == MESSAGES and set(sent.values()) == {1}
    finally:
        postgres_databases.drop(url)
