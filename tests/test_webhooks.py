"""Webhooks: consent.changed through the outbox, signed per Standard Webhooks, nothing lost."""
import json
import socket
import threading
import uuid
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from freezegun import freeze_time
from sqlalchemy import select
from standardwebhooks.webhooks import Webhook

from consent_center.ledger import Actor, record_change
from consent_center.models import OutboxMessage, Source
from consent_center.subjects.service import create_subject
from consent_center.outbox.webhooks import WebhookError, add_endpoint


class Receiver:
    """A real HTTP receiver on 127.0.0.1 that keeps what it is sent."""

    def __init__(self, port: int = 0, status: int = 204):
        received = self.received = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                received.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks/consent"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def change(session, subject, channel, status):
    record_change(session, subject, {channel: status}, source=Source.API, actor=Actor.system())
    session.commit()


def test_webhook_add_prints_the_secret_last(runner, receiver):
    result = runner.invoke(args=["webhook", "add", "--url", receiver.url, "--description", "ESP"])
    assert result.exit_code == 0, result.output
    assert result.output.strip().splitlines()[-1].startswith("whsec_")


def test_plain_http_is_refused_off_this_machine(session):
    with pytest.raises(WebhookError):
        add_endpoint(session, "http://crm.example.com/hook")
    with pytest.raises(WebhookError):
        add_endpoint(session, "ftp://127.0.0.1/hook")
    assert add_endpoint(session, "https://crm.example.com/hook").url == "https://crm.example.com/hook"


def test_a_change_is_delivered_signed_per_standard_webhooks(runner, session, receiver):
    endpoint = add_endpoint(session, receiver.url)
    secret = endpoint.secret
    subject = create_subject(session, actor=Actor.system(), email="a@example.com", is_customer=True)
    session.commit()
    change(session, subject, "sms", "withdrawn")
    public_id = subject.public_id
    result = runner.invoke(args=["outbox", "deliver", "--once"])
    assert result.exit_code == 0, result.output
    assert len(receiver.received) == 2  # the defaults at creation, then the withdrawal
    headers, body = receiver.received[-1]
    payload = Webhook(secret).verify(body, headers)  # the reference implementation
    assert payload["type"] == "consent.changed"
    assert payload["data"]["subject"] == public_id
    assert [(e["channel"], e["status"], e["previous_status"]) for e in payload["data"]["events"]] == [
        ("sms", "withdrawn", "granted")]
    tampered = body.replace(b"withdrawn", b"granted__")
    with pytest.raises(Exception):
        Webhook(secret).verify(tampered, headers)


def test_nothing_is_lost_while_the_receiver_is_down(runner, session):
    port = free_port()
    add_endpoint(session, f"http://127.0.0.1:{port}/hook")
    with freeze_time("2036-02-01 08:00:00") as frozen:
        subject = create_subject(session, actor=Actor.system(), email="b@example.com", is_customer=True)
        session.commit()
        for status in ("withdrawn", "granted", "withdrawn"):
            change(session, subject, "email", status)
        runner.invoke(args=["outbox", "deliver", "--once"])
        session.rollback()
        pending = session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "webhook")).all()
        assert len(pending) == 4 and {m.status for m in pending} == {"pending"}
        assert all(m.attempts == 1 and m.last_error for m in pending)
        receiver = Receiver(port)
        try:
            frozen.tick(timedelta(minutes=10))
            runner.invoke(args=["outbox", "deliver", "--once"])
            frozen.tick(timedelta(minutes=10))
            runner.invoke(args=["outbox", "deliver", "--once"])
        finally:
            receiver.close()
    ids = [headers["webhook-id"] for headers, _ in receiver.received]
    assert len(ids) == 4 and len(set(ids)) == 4  # every event, once
    statuses = [e["status"] for _, body in receiver.received for e in json.loads(body)["data"]["events"]]
    assert statuses.count("withdrawn") == 2


def test_no_endpoint_means_no_outbox_message(session):
    subject = create_subject(session, actor=Actor.system(), email="c@example.com", is_customer=True)
    change(session, subject, "sms", "withdrawn")
    assert session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "webhook")).all() == []


def test_a_disabled_endpoint_gets_nothing_more(runner, session, receiver):
    endpoint = add_endpoint(session, receiver.url)
    session.commit()
    result = runner.invoke(args=["webhook", "disable", endpoint.public_id])
    assert result.exit_code == 0, result.output
    subject = create_subject(session, actor=Actor.system(), email="d@example.com", is_customer=True)
    session.commit()
    runner.invoke(args=["outbox", "deliver", "--once"])
    assert receiver.received == []


def test_one_message_per_active_endpoint_each_its_own_id(runner, session):
    """Disabled endpoints get nothing; each message has its own uuid, the same payload, pending."""
    first, second = (add_endpoint(session, f"http://127.0.0.1:{free_port()}/hook") for _ in range(2))
    disabled = add_endpoint(session, f"http://127.0.0.1:{free_port()}/hook")
    session.commit()
    assert runner.invoke(args=["webhook", "disable", disabled.public_id]).exit_code == 0
    subject = create_subject(session, actor=Actor.system(), email="e@example.com", is_customer=True)
    session.commit()
    with freeze_time("2036-03-01 08:00:00"):
        change(session, subject, "sms", "withdrawn")
    messages = session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "webhook")
                               .order_by(OutboxMessage.id.desc()).limit(3)).all()
    latest = [m for m in messages if m.payload["data"]["events"][0]["status"] == "withdrawn"]
    assert sorted(m.recipient for m in latest) == sorted([first.public_id, second.public_id])
    assert len({m.public_id for m in latest}) == 2
    assert all(str(uuid.UUID(m.public_id, version=4)) == m.public_id for m in latest)
    assert all((m.status, m.attempts, m.topic) == ("pending", 0, "consent.changed") for m in latest)
    assert {m.created_at.isoformat() for m in latest} == {"2036-03-01T08:00:00+00:00"}
    assert latest[0].payload == latest[1].payload and latest[0].payload["data"]["subject"] == subject.public_id
