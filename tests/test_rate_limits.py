"""Rate limits on the public endpoints: memory by default, Redis when configured."""
import uuid

import pytest
from sqlalchemy import select

from consent_center import create_app, tokens
from consent_center.extensions import db, limiter
from consent_center.ledger import Actor
from consent_center.models import OutboxMessage
from consent_center.subjects.service import create_subject

from .conftest import IsolatedClient, form_post

REDIS_URL = "redis://127.0.0.1:6379/0"


def post_email(client, path, email):
    return form_post(client, path, {"email": email})


@pytest.mark.parametrize("path", ["/manage", "/password/forgot"])
def test_the_same_address_is_limited_whoever_asks(app, path):
    for _ in range(3):
        assert post_email(app.test_client(), path, "target@example.com").status_code == 302
    assert post_email(app.test_client(), path, "target@example.com").status_code == 429
    assert post_email(app.test_client(), path, "someone.else@example.com").status_code == 302


@pytest.mark.parametrize("path", ["/manage", "/password/forgot"])
def test_the_same_address_is_limited_however_it_is_spelt(app, path):
    # The mail goes to the normalised address: its spellings share one count.
    for spelling in ("target@example.com", "TARGET@ｅxample.com", "target@ＥＸＡＭＰＬＥ.COM"):
        assert post_email(app.test_client(), path, spelling).status_code == 302
    assert post_email(app.test_client(), path, "Target@Example.com").status_code == 429


@pytest.mark.settings(PUBLIC_RATE_LIMIT="2 per hour")
@pytest.mark.parametrize("path", ["/manage", "/password/forgot"])
def test_one_network_address_is_limited_whatever_it_types(client, path):
    assert post_email(client, path, "a@example.com").status_code == 302
    assert post_email(client, path, "b@example.com").status_code == 302
    assert post_email(client, path, "c@example.com").status_code == 429


def test_known_and_unknown_addresses_reach_the_limit_alike(app, session):
    create_subject(session, actor=Actor.system(), email="known@example.com", is_customer=True)
    session.commit()
    for email in ("known@example.com", "unknown@example.com"):
        codes = [post_email(app.test_client(), "/manage", email).status_code for _ in range(4)]
        assert codes == [302, 302, 302, 429]


@pytest.mark.settings(PUBLIC_RATE_LIMIT="2 per hour")
def test_subscribe_is_rate_limited(client, session):
    from datetime import datetime, timezone

    from consent_center.policies.service import publish_policy

    publish_policy(session, "2026-01", {"en": "Policy."}, effective_at=datetime(2026, 1, 1, tzinfo=timezone.utc))
    session.commit()
    codes = [form_post(client, "/subscribe", {"email": f"p{i}@example.com", "locale": "en",
                                              "policy_version": "2026-01", "accept_policy": "y"}).status_code
             for i in range(3)]
    assert codes == [302, 302, 429]
    session.rollback()
    assert len(session.scalars(select(OutboxMessage)).all()) == 2


@pytest.fixture
def link(session):
    subject = create_subject(session, actor=Actor.system(), email="ann@example.com", is_customer=True)
    session.commit()
    return f"/u/{tokens.unsubscribe_token(subject.public_id, 'email')}", \
        f"/u/{tokens.unsubscribe_token(subject.public_id, 'sms')}"


@pytest.mark.settings(UNSUBSCRIBE_RATE_LIMIT="3 per minute")
def test_unsubscribe_pages_are_limited_per_network_address(client, link):
    assert [client.get(link[0]).status_code for _ in range(3)] == [200] * 3
    limited = client.get(link[1])
    assert limited.status_code == 429
    assert limited.headers["Referrer-Policy"] == "no-referrer"
    assert client.get("/u/forged").status_code == 429


@pytest.mark.settings(UNSUBSCRIBE_TOKEN_RATE_LIMIT="2 per hour")
def test_one_unsubscribe_link_is_limited_on_post(client, link):
    body = {"data": "List-Unsubscribe=One-Click", "content_type": "application/x-www-form-urlencoded"}
    assert [client.post(link[0], **body).status_code for _ in range(3)] == [200, 200, 429]
    assert client.post(link[1], **body).status_code == 200  # another link is not affected
    assert client.get(link[0]).status_code == 200  # and GET is not counted per link


def _redis_unreachable() -> str | None:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.RedisError as exc:
        return f"Redis not reachable at {REDIS_URL}: {exc.__class__.__name__}"
    return None


@pytest.fixture
def redis_prefix():
    reason = _redis_unreachable()
    if reason:
        pytest.skip(reason)
    import redis

    prefix = f"consent-center-test-{uuid.uuid4().hex[:12]}"
    yield prefix
    store = redis.Redis.from_url(REDIS_URL)
    for key in store.scan_iter(f"*{prefix}*"):
        store.delete(key)
    store.close()
    limiter._key_prefix = ""  # the shared limiter keeps the first prefix it is given


def test_limits_live_in_redis_when_configured_and_are_shared_by_servers(database_url, redis_prefix):
    import redis

    settings = {"TESTING": True, "DATABASE_URL": database_url, "RATELIMIT_STORAGE_URI": REDIS_URL,
                "RATELIMIT_KEY_PREFIX": redis_prefix, "ADDRESS_RATE_LIMIT": "2 per hour"}

    def server():
        app = create_app(settings)
        app.test_client_class = IsolatedClient
        return app

    # Each new app gives the limiter a new storage client: counts survive
    # only because they live in Redis (in memory they would start again).
    first = server()
    with first.app_context():
        assert post_email(first.test_client(), "/manage", "shared@example.com").status_code == 302
    db.engine.dispose()  # the next app rebinds the shared engine
    second = server()
    with second.app_context():
        assert post_email(second.test_client(), "/manage", "shared@example.com").status_code == 302
        assert post_email(second.test_client(), "/manage", "shared@example.com").status_code == 429
    store = redis.Redis.from_url(REDIS_URL)
    assert any(store.scan_iter(f"*{redis_prefix}*"))
    store.close()
    db.engine.dispose()
