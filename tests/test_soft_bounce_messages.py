"""Soft bounces count messages, not reports: one message a provider reports twice counts once.

The provider's id of each message counted is kept as a keyed digest until the
next delivery, and forgotten with the person's other bounce details on erasure.
"""
from __future__ import annotations

import hashlib
from datetime import datetime, timezone

import pytest
from freezegun import freeze_time
from sqlalchemy import select

from consent_center.addresses import fingerprint, suppression_salt
from consent_center.ledger import Actor
from consent_center.models import InboundMessage, Subject, UndeliverableAddress
from consent_center.policies.service import publish_policy
from consent_center.rights.erasure import erase
from consent_center.subjects.deliverability import record_bounce, record_delivery, undeliverable_among

from . import mail_providers as mp
from .inbound_fixtures import make_hook, path_of
from .test_email_hooks import check, person, secret_header

NOW = datetime(2026, 3, 1, 10, 0, 5, tzinfo=timezone.utc)


@pytest.fixture
def policy(session):
    publish_policy(session, "2026-01", {"en": "Policy."}, effective_at=datetime(2026, 1, 1, tzinfo=timezone.utc))
    session.commit()


@pytest.mark.settings(SOFT_BOUNCE_LIMIT=2)
def test_one_message_counts_one_soft_bounce_however_often_the_provider_reports_it(client, session, policy, api):
    """Mailgun reports a temporary failure it will not say it retries, then gives up on the same
    message ("old"): two notices, one message that did not arrive. Soft bounces count messages in a row."""
    person(session, "joe@example.org")
    hook, url = make_hook(session, "mailgun", kind="email", secret="key-3ax6xnjp29jd6fds4gc373sgvjxteol0")
    tokens = iter("abcdefgh")

    def failed(message_id, **fields):
        event = {"event": "failed", "id": f"ev-{message_id}-{fields.get('reason', 'x')}", "timestamp": NOW.timestamp(),
                 "recipient": "joe@example.org", "message": {"headers": {"message-id": message_id}},
                 "delivery-status": {"code": 452, "message": "4.2.2 mailbox full"}, **fields}
        body = mp.mailgun_body(event, hook.secret, int(NOW.timestamp()), next(tokens) * 50)
        answer = client.post(path_of(url), data=body, content_type="application/json")
        assert answer.status_code == 200, answer.get_data(as_text=True)
        return [a["outcome"] for a in answer.get_json()["accepted"]]

    with freeze_time(NOW):
        assert failed("<m-1@shop.example>", severity="temporary", reason="generic") == ["soft_bounce"]
        assert failed("<m-1@shop.example>", severity="permanent", reason="old") == ["soft_bounce"]
        assert check(api, "joe@example.org") == (True, "granted")  # one message so far, under the limit of two
        assert failed("<m-2@shop.example>", severity="permanent", reason="old") == ["soft_bounce"]
        assert check(api, "joe@example.org") == (False, "undeliverable")


@pytest.mark.settings(SOFT_BOUNCE_LIMIT=3)
def test_soft_bounces_count_distinct_messages_since_the_last_delivery(session):
    def soft(message):
        record_bounce(session, "joe@example.org", hard=False, at=NOW, detail="452 mailbox full", provider="mailgun",
                      message=message)
        session.commit()
        return session.scalars(select(UndeliverableAddress)).one().soft_bounces

    assert [soft("m-1"), soft("m-2"), soft("m-1")] == [1, 2, 2]  # m-1 reported again, late: not a third message
    assert soft("") == 3  # without the provider's message id, every report counts
    assert undeliverable_among(session, ["joe@example.org"]) == {"joe@example.org": "soft_bounces"}
    record_delivery(session, "joe@example.org", at=NOW)
    session.commit()
    assert undeliverable_among(session, ["joe@example.org"]) == {}
    # After a delivery the count starts again, and a message counted before counts again if it bounces.
    assert [soft("m-1"), soft("m-1"), soft("m-4")] == [1, 1, 2]
    # The same id from another provider is another message.
    record_bounce(session, "joe@example.org", hard=False, at=NOW, detail=None, provider="ses", message="m-4")
    session.commit()
    assert undeliverable_among(session, ["joe@example.org"]) == {"joe@example.org": "soft_bounces"}


@pytest.mark.settings(SOFT_BOUNCE_LIMIT=3)
def test_the_messages_counted_are_stored_not_only_held_in_memory(session):
    for message in ("m-1", "m-2"):
        record_bounce(session, "joe@example.org", hard=False, at=NOW, detail=None, provider="mailgun",
                      message=message)
        session.commit()
    session.expire_all()  # the app's sessions keep objects after a commit: read what the database holds
    assert len(session.scalars(select(UndeliverableAddress)).one().soft_bounce_messages) == 2


@freeze_time(NOW)
@pytest.mark.settings(SOFT_BOUNCE_LIMIT=3)
def test_erasure_forgets_the_messages_and_what_is_kept_cannot_be_matched_without_the_key(client, session, policy):
    jane = person(session, "jane@example.org")
    hook, url = make_hook(session, "postmark", kind="email")
    body = mp.postmark_bounce("jane@example.org", "SoftBounce", record_id=7, message_id="pm-123")
    assert client.post(path_of(url), data=body, headers=secret_header(hook.secret)).status_code == 200
    session.rollback()
    kept = session.scalars(select(InboundMessage)).one().details["provider_message"]
    digests = session.scalars(select(UndeliverableAddress)).one().soft_bounce_messages
    # Keyed: the id the inbound evidence keeps does not give the digest without the lists' key.
    assert digests == [fingerprint(f"postmark\0{kept}", suppression_salt(client.application.config))[:16]]
    assert digests != [hashlib.sha256(f"postmark\0{kept}".encode()).hexdigest()[:16]]
    erase(session, session.scalars(select(Subject).where(Subject.public_id == jane)).one(), actor=Actor.system())
    session.commit()
    session.expire_all()
    mark = session.scalars(select(UndeliverableAddress)).one()
    assert mark.detail is None and mark.soft_bounce_messages is None and mark.soft_bounces == 1
