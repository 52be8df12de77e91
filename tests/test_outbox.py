"""The outbox: written with the change, delivered by the worker, retried with back-off."""
from datetime import timedelta

import pytest
from freezegun import freeze_time
from sqlalchemy import select

from consent_center.outbox import queue as outbox
from consent_center.outbox.mail import enqueue_email
from consent_center.models import OutboxMessage

from .mail_fixtures import deliver, free_port


def queue(session, to="reader@example.com", locale="en", **payload):
    payload = payload or {"signup": "0" * 32}
    message = enqueue_email(session, topic="double_opt_in", to=to, locale=locale, name="Reader", **payload)
    session.commit()
    return message.public_id


def row(session, public_id) -> OutboxMessage:
    session.rollback()
    return session.scalars(select(OutboxMessage).where(OutboxMessage.public_id == public_id)).one()


def test_the_worker_sends_a_queued_email_by_smtp_once(session, runner, mailbox):
    public_id = queue(session)
    result = deliver(runner)
    assert "Delivered 1, to retry 0, dead 0." in result.output
    received = mailbox.only("reader@example.com")
    assert received.message["Message-ID"] == f"<{public_id}@consent.example>"
    assert received.mail_from == "no-reply@consent.example"
    message = row(session, public_id)
    assert (message.status, message.attempts, message.last_error) == ("delivered", 1, None)
    assert message.delivered_at is not None
    deliver(runner)
    assert len(mailbox.messages) == 1


def test_a_failed_delivery_is_retried_with_exponential_back_off(app, session, runner, smtp_server):
    app.config.update(MAIL_BACKEND="smtp", SMTP_HOST="127.0.0.1", SMTP_PORT=free_port(),
                      SMTP_STARTTLS=False, SMTP_TIMEOUT=5, OUTBOX_RETRY_SECONDS=60, OUTBOX_MAX_ATTEMPTS=3)
    with freeze_time("2026-03-01 09:00:00", real_asyncio=True) as frozen:
        public_id = queue(session)
        assert "to retry 1" in deliver(runner).output  # nobody listens on that port
        message = row(session, public_id)
        assert message.status == "pending" and message.attempts == 1
        assert "ConnectionRefusedError" in message.last_error
        assert message.next_attempt_at == message.created_at + timedelta(seconds=60)

        frozen.tick(59)
        assert "Delivered 0, to retry 0" in deliver(runner).output  # not due yet
        frozen.tick(1)
        deliver(runner)
        message = row(session, public_id)
        assert message.attempts == 2
        assert message.next_attempt_at - message.created_at == timedelta(seconds=60 + 120)

        app.config["SMTP_PORT"] = smtp_server.port  # the server is back
        frozen.tick(120)
        deliver(runner)
    message = row(session, public_id)
    assert (message.status, message.attempts) == ("delivered", 3)
    assert len(smtp_server.to("reader@example.com")) == 1


def test_a_message_is_dead_after_the_last_attempt(app, session, runner):
    app.config.update(MAIL_BACKEND="smtp", SMTP_HOST="127.0.0.1", SMTP_PORT=free_port(),
                      SMTP_STARTTLS=False, SMTP_TIMEOUT=5, OUTBOX_MAX_ATTEMPTS=2)
    with freeze_time("2026-03-01 09:00:00") as frozen:
        public_id = queue(session)
        deliver(runner)
        frozen.tick(3600)
        assert "dead 1" in deliver(runner).output
        frozen.tick(86400)
        deliver(runner)
    message = row(session, public_id)
    assert (message.status, message.attempts) == ("dead", 2)


def test_a_recipient_refused_for_good_is_dead_at_once(session, runner, mailbox):
    mailbox.refuse["nobody@example.com"] = "550 5.1.1 No such user"
    public_id = queue(session, to="nobody@example.com")
    assert "dead 1" in deliver(runner).output
    message = row(session, public_id)
    assert (message.status, message.attempts) == ("dead", 1)
    assert "550" in message.last_error


def test_a_recipient_refused_for_now_is_retried(session, runner, mailbox):
    mailbox.refuse["busy@example.com"] = "451 4.3.0 Try again later"
    public_id = queue(session, to="busy@example.com")
    assert "to retry 1" in deliver(runner).output
    assert row(session, public_id).status == "pending"


def test_the_worker_asks_for_starttls_when_configured(app, session, runner, mailbox):
    # aiosmtpd here offers no STARTTLS: the worker must not go on in clear text.
    app.config["SMTP_STARTTLS"] = True
    public_id = queue(session)
    deliver(runner)
    message = row(session, public_id)
    assert message.status == "pending" and "STARTTLS" in message.last_error
    assert mailbox.messages == []


def test_files_backend_writes_eml_files_under_instance_outbox(app, session, runner, tmp_path):
    assert app.config["MAIL_BACKEND"] == "files"
    public_id = queue(session)
    deliver(runner)
    files = list((tmp_path / "instance" / "outbox").glob("*.eml"))
    assert [f.name.endswith(f"-double_opt_in-{public_id}.eml") for f in files] == [True]
    assert b"Message-ID: <" + public_id.encode() in files[0].read_bytes()
    assert row(session, public_id).status == "delivered"


# A kind of message nobody delivers in the app: the tests plug a deliverer in and out.
TEST_KIND = "test-kind"


@pytest.fixture
def deliverers():
    """Register deliverers for the test's own kind only, and take them out afterwards."""
    registered = []

    def register(deliver):
        outbox.register_deliverer(TEST_KIND, deliver)
        registered.append(TEST_KIND)

    yield register
    for kind in registered:
        outbox.unregister_deliverer(kind)


def test_messages_are_dispatched_by_kind_and_unknown_kinds_are_left_alone(session, runner, deliverers):
    outbox.enqueue(session, kind=TEST_KIND, topic="consent.changed", recipient="endpoint-1", payload={"n": 1})
    session.commit()
    assert "Delivered 0" in deliver(runner).output
    assert row_by_kind(session, TEST_KIND).status == "pending"  # not worn out

    delivered = []
    deliverers(lambda message: delivered.append(message.payload))
    assert "Delivered 1" in deliver(runner).output
    assert delivered == [{"n": 1}]
    assert row_by_kind(session, TEST_KIND).status == "delivered"


def row_by_kind(session, kind):
    session.rollback()
    return session.scalars(select(OutboxMessage).where(OutboxMessage.kind == kind)).one()


def test_a_deliverer_that_raises_is_retried_not_lost(session, runner, deliverers):
    def broken(message):
        raise RuntimeError("endpoint answered 503")

    deliverers(broken)
    outbox.enqueue(session, kind=TEST_KIND, topic="consent.changed", recipient="e", payload={})
    session.commit()
    assert "to retry 1" in deliver(runner).output
    message = row_by_kind(session, TEST_KIND)
    assert message.status == "pending" and message.last_error == "RuntimeError: endpoint answered 503"


def test_a_lost_lease_does_not_overwrite_the_new_holder(app, session):
    queue(session)
    [first] = outbox.claim(session)
    with freeze_time(outbox.utcnow() + outbox.LEASE + timedelta(seconds=1)):
        [second] = outbox.claim(session)  # the first worker died, its lease ran out
    assert second.attempt == first.attempt + 1
    assert not outbox._finish(session, first, status="delivered")
    assert outbox._finish(session, second, status="delivered")


def test_a_rolled_back_change_leaves_no_message(session):
    queue_without_commit = enqueue_email(session, topic="double_opt_in", to="x@example.com", locale="fr",
                                         signup="1" * 32)
    assert queue_without_commit.id is not None
    session.rollback()
    assert session.scalars(select(OutboxMessage)).all() == []


def test_deliver_refuses_a_kind_nobody_delivers(runner):
    result = runner.invoke(args=["outbox", "deliver", "--once", "--kind", "carrier-pigeon"])
    assert result.exit_code == 2
    assert "no deliverer for carrier-pigeon" in result.output


def test_the_worker_loop_delivers_until_stopped(app, session, mailbox):
    import threading
    import time

    from consent_center.cli.outbox_commands import run
    from consent_center.extensions import db

    stop = threading.Event()

    def worker():
        with app.app_context():
            run(db.session, stop=stop, interval=0.05, limit=5, kinds=["email"])
            db.session.remove()

    thread = threading.Thread(target=worker)
    thread.start()
    try:
        queue(session)  # queued while the worker polls
        deadline = time.monotonic() + 10
        while not mailbox.messages and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop.set()
        thread.join(timeout=10)
    assert not thread.is_alive()
    assert len(mailbox.to("reader@example.com")) == 1


@pytest.mark.settings(OUTBOX_RETRY_SECONDS=30)
def test_retry_delays_double_and_are_capped(app):
    assert [outbox.retry_delay(n).total_seconds() for n in (1, 2, 3, 4)] == [30, 60, 120, 240]
    assert outbox.retry_delay(30) == outbox.MAX_RETRY_DELAY


def test_an_smtp_server_that_goes_down_loses_nothing(app, session, runner):
    """Up, then down while mail keeps coming, then up again: every message arrives, once."""
    from aiosmtpd.controller import Controller

    from .mail_fixtures import Mailbox

    mailbox = Mailbox()
    mailbox.port = free_port()
    app.config.update(MAIL_BACKEND="smtp", SMTP_HOST="127.0.0.1", SMTP_PORT=mailbox.port, SMTP_STARTTLS=False,
                      SMTP_TIMEOUT=5, OUTBOX_RETRY_SECONDS=60, OUTBOX_MAX_ATTEMPTS=10)
    with freeze_time("2026-03-01 09:00:00", real_asyncio=True) as frozen:
        server = Controller(mailbox, hostname="127.0.0.1", port=mailbox.port)
        server.start()
        try:
            sent_before = [queue(session, to=f"before{i}@example.com") for i in range(2)]
            assert "Delivered 2, to retry 0" in deliver(runner).output
        finally:
            server.stop()  # the server goes down: its port now refuses connections
        down = [queue(session, to=f"down{i}@example.com") for i in range(4)]
        assert "Delivered 0, to retry 4, dead 0." in deliver(runner).output
        for public_id in down:
            message = row(session, public_id)
            assert (message.status, message.attempts) == ("pending", 1)
            assert "ConnectionRefusedError" in message.last_error
        frozen.tick(60)
        assert "Delivered 0, to retry 4" in deliver(runner).output  # still down: retried, kept
        restarted = Controller(mailbox, hostname="127.0.0.1", port=mailbox.port)
        restarted.start()
        try:
            frozen.tick(120)
            assert "Delivered 4, to retry 0, dead 0." in deliver(runner).output
            frozen.tick(3600)
            assert "Delivered 0, to retry 0, dead 0." in deliver(runner).output
        finally:
            restarted.stop()
    for public_id in sent_before + down:
        assert row(session, public_id).status == "delivered"
    recipients = [to for m in mailbox.messages for to in m.rcpt_tos]
    assert sorted(recipients) == sorted([f"before{i}@example.com" for i in range(2)]
                                        + [f"down{i}@example.com" for i in range(4)])
    message_ids = [m.message["Message-ID"] for m in mailbox.messages]
    assert len(set(message_ids)) == 6
