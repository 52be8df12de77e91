"""Single-use links stay single-use under concurrency (issue 21, item 9).

A real gunicorn with six sync workers; six clients post one link at the
same instant. A reset or invitation link sets the password exactly once
(the password is the one winner's); an e-mail change link moves the
address exactly once. The losers get the answer of a used link, never a
500. On the suite's backend, and on PostgreSQL.
"""
from __future__ import annotations

import http.client
import threading
from http.cookies import SimpleCookie
from urllib.parse import urlencode

import pytest
from argon2 import PasswordHasher
from argon2.exceptions import VerifyMismatchError
from sqlalchemy import func, select

from consent_center import create_app, tokens
from consent_center.accounts.service import create_account
from consent_center.extensions import db
from consent_center.ledger import Actor
from consent_center.models import Account, OutboxMessage, Role, Subject

from .conftest import csrf_from
from .gunicorn_server import Gunicorn

CLIENTS = 6
SECRET = "single-use-links-secret-key-of-at-least-32-characters"


def http_request(server: Gunicorn, method: str, path: str, body: bytes | None = None,
                 headers: dict | None = None) -> tuple[int, dict, str]:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        cookies = SimpleCookie()
        for value in response.headers.get_all("Set-Cookie") or []:
            cookies.load(value)
        return response.status, {k: m.value for k, m in cookies.items()}, response.read().decode(errors="replace")
    finally:
        connection.close()


def post_at_once(server: Gunicorn, link: str, forms: list[dict]) -> list[tuple[int, str]]:
    """Load the link's form once, then post it ``len(forms)`` times at the same instant."""
    status, cookies, page = http_request(server, "GET", link, headers={"Accept-Language": "en"})
    assert status == 200, page[:500]
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Accept-Language": "en",
               "Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())}
    token = csrf_from(page)
    barrier = threading.Barrier(len(forms))
    answers: list[tuple[int, str] | None] = [None] * len(forms)

    def post(i: int) -> None:
        body = urlencode({"csrf_token": token, **forms[i]}).encode()
        barrier.wait()
        status, _cookies, text = http_request(server, "POST", link, body, headers)
        answers[i] = (status, text)

    threads = [threading.Thread(target=post, args=(i,)) for i in range(len(forms))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert all(a is not None for a in answers), "a client got no answer"
    return answers


def served_app(url: str, tmp_path):
    return create_app({"TESTING": True, "DATABASE_URL": url, "SECRET_KEY": SECRET,
                       "RECEIPT_KEY_DIR": str(tmp_path / "keys")})


@pytest.fixture(scope="module", params=["suite", pytest.param("postgres", marks=pytest.mark.postgres)])
def served(request, databases, tmp_path_factory):
    """(app, server): one gunicorn per backend for the module's tests (it takes seconds to start).

    The app (for the test's own reads and writes) is made afresh for each test.
    """
    dbs = databases if request.param == "suite" else request.getfixturevalue("postgres_databases")
    url = dbs.create()
    tmp_path = tmp_path_factory.mktemp("served")
    server = Gunicorn(url, tmp_path, workers=CLIENTS, env={
        "CONSENT_SECRET_KEY": SECRET,
        # The race is in the link, not the hashing: the cheapest argon2 costs, as the tests use.
        "CONSENT_ARGON2_TIME_COST": "1", "CONSENT_ARGON2_MEMORY_COST": "8", "CONSENT_ARGON2_PARALLELISM": "1"})
    try:
        yield lambda: served_app(url, tmp_path), server
    finally:
        server.stop()
        dbs.drop(url)


def outbox_count(session) -> int:
    return session.scalar(select(func.count()).select_from(OutboxMessage))


@pytest.mark.parametrize("purpose", ["password_reset", "invitation"])
def test_six_concurrent_posts_of_one_password_link_set_the_password_once(served, purpose):
    make_app, server = served
    app = make_app()
    with app.app_context():
        password = None if purpose == "invitation" else "the old passphrase of lea"
        account = create_account(db.session, email=f"{purpose}@example.com", password=password, role=Role.CUSTOMER,
                                 actor=Actor.system(), name="Léa", locale="en")
        db.session.commit()
        account_id = account.id
        link = ("/password/reset/" if purpose == "password_reset" else "/invitation/") + \
            tokens.account_token(purpose, account)
        before = outbox_count(db.session)
        db.session.remove()
    passwords = [f"racing passphrase number {i} of lea" for i in range(CLIENTS)]
    answers = post_at_once(server, link, [{"password": p, "confirm": p} for p in passwords])
    statuses = [status for status, _text in answers]
    assert 500 not in statuses, server.output()[-3000:]
    winners = [i for i, (status, _text) in enumerate(answers) if status == 302]
    assert len(winners) == 1, statuses
    assert sorted(statuses) == [302] + [404] * (CLIENTS - 1), statuses  # the used link's answer
    with app.app_context():
        account = db.session.get(Account, account_id)
        hasher = PasswordHasher()
        assert hasher.verify(account.password_hash, passwords[winners[0]])
        for i in set(range(CLIENTS)) - set(winners):
            with pytest.raises(VerifyMismatchError):
                hasher.verify(account.password_hash, passwords[i])
        assert outbox_count(db.session) == before  # no mail, no notice, from any of them
        db.session.remove()
    db.dispose()


def test_six_concurrent_posts_of_one_email_change_link_change_the_address_once(served):
    make_app, server = served
    app = make_app()
    with app.app_context():
        account = create_account(db.session, email="lea@example.com", password="the old passphrase of lea",
                                 role=Role.CUSTOMER, actor=Actor.system(), name="Léa", locale="en")
        db.session.commit()
        subject = account.subject
        link = "/space/email/confirm/" + tokens.email_change_token(subject.public_id, "lea.new@example.com",
                                                                   subject.email)
        subject_id, account_id = subject.id, account.id
        before = outbox_count(db.session)
        db.session.remove()
    answers = post_at_once(server, link, [{}] * CLIENTS)
    statuses = [status for status, _text in answers]
    assert 500 not in statuses, server.output()[-3000:]
    confirmed = [text for status, text in answers if status == 200]
    assert len(confirmed) == 1, statuses
    assert "lea.new@example.com" in confirmed[0]
    assert sorted(statuses) == [200] + [410] * (CLIENTS - 1), statuses  # the used link's answer
    with app.app_context():
        assert db.session.get(Subject, subject_id).email == "lea.new@example.com"
        assert db.session.get(Account, account_id).email == "lea.new@example.com"
        assert outbox_count(db.session) == before
        db.session.remove()
    db.dispose()
