"""Desk actions are taken once under concurrency (issue 21, "Trust holes").

A real gunicorn with six sync workers; one staff session (two staff, or
one double-click) posts the same action on one request six times at the
same instant. The identity check is recorded once; a request is carried
out once (one erasure, one completion e-mail), and carrying out racing a
decline gives one outcome. The others get the desk's 409 ("closed",
"already checked"), never a 500. On the suite's backend, and on
PostgreSQL.
"""
from __future__ import annotations

import http.client
import threading
import uuid
from contextlib import nullcontext
from datetime import datetime, timedelta, timezone
from http.cookies import SimpleCookie
from urllib.parse import urlencode

import pytest
from freezegun import freeze_time
from sqlalchemy import select

from consent_center import create_app
from consent_center.accounts.service import create_account
from consent_center.extensions import db
from consent_center.ledger import Actor
from consent_center.models import (
    ConsentEvent,
    DataRequest,
    OutboxMessage,
    Role,
    StaffAction,
    Subject,
)
from consent_center.models.vocabulary import EventType, Source
from consent_center.rights import effects, lifting
from consent_center.rights.requests import file_request, verify_identity

from .conftest import csrf_from
from .gunicorn_server import Gunicorn

CLIENTS = 6
SECRET = "desk-races-secret-key-of-at-least-32-characters"
PASSWORD = "the passphrase of sam at the desk"
CHECK = {"method": "code_to_address_on_file", "evidence": "Code read back on the phone"}


def http_request(server: Gunicorn, method: str, path: str, body: bytes | None = None,
                 cookies: dict | None = None) -> tuple[int, dict, str]:
    """One request as a browser would send it; (status, cookies set, body)."""
    headers = {"Accept-Language": "en"}
    if cookies:
        headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
    if body is not None:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    try:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        jar = SimpleCookie()
        for value in response.headers.get_all("Set-Cookie") or []:
            jar.load(value)
        return response.status, {k: m.value for k, m in jar.items()}, response.read().decode(errors="replace")
    finally:
        connection.close()


def staff_session(server: Gunicorn, email: str) -> dict:
    """Log in through the login page, as a browser does; return the session's cookies."""
    status, cookies, page = http_request(server, "GET", "/login")
    assert status == 200, page[:500]
    body = urlencode({"csrf_token": csrf_from(page), "email": email, "password": PASSWORD}).encode()
    status, set_now, page = http_request(server, "POST", "/login", body, cookies)
    assert status == 302, page[:500]
    return cookies | set_now


def post_at_once(server: Gunicorn, cookies: dict, public_id: str, posts: list[tuple[str, dict]]) -> list[tuple[int, str]]:
    """Load the request's desk page once, then post each (action, form) at the same instant."""
    page_path = f"/admin/requests/{public_id}"
    status, set_now, page = http_request(server, "GET", page_path, cookies=cookies)
    assert status == 200, page[:500]
    cookies = cookies | set_now
    token = csrf_from(page)
    barrier = threading.Barrier(len(posts))
    answers: list[tuple[int, str] | None] = [None] * len(posts)

    def post(i: int) -> None:
        action, form = posts[i]
        body = urlencode({"csrf_token": token, **form}).encode()
        barrier.wait()
        status, _cookies, text = http_request(server, "POST", f"{page_path}/{action}", body, cookies)
        answers[i] = (status, text)

    threads = [threading.Thread(target=post, args=(i,)) for i in range(len(posts))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert all(a is not None for a in answers), "a client got no answer"
    return answers


@pytest.fixture(scope="module", params=["suite", pytest.param("postgres", marks=pytest.mark.postgres)])
def served(request, databases, tmp_path_factory):
    """(make_app, server): one gunicorn per backend for the module's tests (it takes seconds to start)."""
    dbs = databases if request.param == "suite" else request.getfixturevalue("postgres_databases")
    url = dbs.create()
    tmp_path = tmp_path_factory.mktemp("served")
    server = Gunicorn(url, tmp_path, workers=CLIENTS, env={
        "CONSENT_SECRET_KEY": SECRET,
        "CONSENT_ARGON2_TIME_COST": "1", "CONSENT_ARGON2_MEMORY_COST": "8", "CONSENT_ARGON2_PARALLELISM": "1"})
    try:
        yield (lambda: create_app({"TESTING": True, "DATABASE_URL": url, "SECRET_KEY": SECRET,
                                   "RECEIPT_KEY_DIR": str(tmp_path / "keys")})), server
    finally:
        server.stop()
        dbs.drop(url)


class Desk:
    """A customer's request on a served desk, and the support member who handles it."""

    def __init__(self, make_app, server: Gunicorn, name: str, kind: str, *, verified: bool,
                 carried_out: bool = False, lift_announced: bool = False) -> None:
        self.app, self.server = make_app(), server
        # A lift announced (GDPR art. 18(3)) a notice period ago: its date has come.
        ago = timedelta(days=self.app.config["RESTRICTION_LIFT_NOTICE_DAYS"] + 1) if lift_announced else None
        with self.app.app_context(), freeze_time(datetime.now(timezone.utc) - ago) if ago else nullcontext():
            staff = create_account(db.session, email=f"sam.{name}@example.com", password=PASSWORD,
                                   role=Role.SUPPORT, actor=Actor.system(), locale="en")
            customer = create_account(db.session, email=f"lea.{name}@example.com", password=None,
                                      role=Role.CUSTOMER, actor=Actor.system(), name="Léa", locale="en")
            request = file_request(db.session, customer.subject, kind)
            if verified:
                verify_identity(db.session, request, account_id=staff.id, **CHECK)
            if carried_out:
                effects.carry_out(db.session, request, account_id=staff.id)
            if lift_announced:
                lifting.announce(db.session, request, account_id=staff.id)
            db.session.commit()
            self.staff_email, self.public_id, self.subject_id = staff.email, request.public_id, customer.subject.id
            db.session.remove()
        self.cookies = staff_session(server, self.staff_email)

    def post_at_once(self, posts: list[tuple[str, dict]]) -> list[tuple[int, str]]:
        answers = post_at_once(self.server, self.cookies, self.public_id, posts)
        assert 500 not in [status for status, _text in answers], self.server.output()[-3000:]
        return answers

    def read(self, reader):
        with self.app.app_context():
            try:
                return reader(db.session)
            finally:
                db.session.remove()

    def lines(self) -> list[str]:
        return self.read(lambda session: list(session.scalars(
            select(StaffAction.action).where(StaffAction.target == f"request:{self.public_id}")
            .order_by(StaffAction.id))))

    def request(self) -> DataRequest:
        return self.read(lambda session: session.scalars(
            select(DataRequest).where(DataRequest.public_id == self.public_id)).one())

    def emails(self, topic: str) -> int:
        """The e-mails of ``topic`` about this request in the outbox."""
        return self.read(lambda session: sum(1 for payload in session.scalars(
            select(OutboxMessage.payload).where(OutboxMessage.topic == topic))
            if payload.get("request") == self.public_id))

    def close(self) -> None:
        db.dispose()


@pytest.fixture
def desk(served):
    made = []

    def make(kind: str, **state) -> Desk:
        made.append(Desk(*served, uuid.uuid4().hex[:8], kind, **state))
        return made[-1]
    yield make
    for one in made:
        one.close()


def test_six_concurrent_identity_checks_record_one(desk):
    one = desk("access", verified=False)
    methods = ["code_to_address_on_file", "callback_to_number_on_file", "document_seen",
               "letter_to_address_on_file", "known_session", "document_seen"]
    answers = one.post_at_once([("verify", CHECK | {"method": m, "evidence": f"check number {i}"})
                                for i, m in enumerate(methods)])
    statuses = [status for status, _text in answers]
    assert sorted(statuses) == [302] + [409] * (CLIENTS - 1), statuses
    assert all("the identity is already checked" in text for status, text in answers if status == 409)
    [winner] = [i for i, (status, _text) in enumerate(answers) if status == 302]
    found = one.request()
    assert (found.status, found.identity_method, found.identity_evidence) == (
        "verified", methods[winner], f"check number {winner}")
    assert found.notes.count("identity verified") == 1
    assert one.lines() == ["request.identity_checked"]


def test_six_concurrent_carry_outs_of_an_erasure_erase_once(desk):
    one = desk("erasure", verified=True)
    answers = one.post_at_once([("carry-out", {})] * CLIENTS)
    statuses = [status for status, _text in answers]
    assert sorted(statuses) == [302] + [409] * (CLIENTS - 1), statuses
    assert all("this request is closed" in text for status, text in answers if status == 409)
    assert one.lines() == ["request.carried_out"]
    found = one.request()
    assert found.status == "completed" and found.notes.count("completed: erasure") == 1
    subject = one.read(lambda session: session.get(Subject, one.subject_id))
    assert subject.erased_at is not None and subject.email is None
    # One erasure: one event per channel the subject had, not one per post.
    erased = one.read(lambda session: list(session.scalars(select(ConsentEvent.channel_id).where(
        ConsentEvent.subject_id == one.subject_id, ConsentEvent.source == Source.ERASURE))))
    assert erased and len(erased) == len(set(erased))


def test_six_concurrent_carry_outs_of_an_access_request_send_one_completion_email(desk):
    one = desk("access", verified=True)
    answers = one.post_at_once([("carry-out", {})] * CLIENTS)
    statuses = [status for status, _text in answers]
    assert sorted(statuses) == [302] + [409] * (CLIENTS - 1), statuses
    assert one.lines() == ["request.carried_out"]
    assert one.emails("request_completed") == 1
    assert one.request().notes.count("completed: access") == 1


def test_carrying_out_racing_a_decline_gives_one_outcome(desk):
    one = desk("access", verified=True)
    answers = one.post_at_once([("carry-out", {}), ("reject", {})] * (CLIENTS // 2))
    statuses = [status for status, _text in answers]
    assert sorted(statuses) == [302] + [409] * (CLIENTS - 1), statuses
    [winner] = [i for i, (status, _text) in enumerate(answers) if status == 302]
    found = one.request()
    if winner % 2 == 0:
        assert found.status == "completed" and one.lines() == ["request.carried_out"]
        assert one.emails("request_completed") == 1
    else:
        assert found.status == "rejected" and one.lines() == ["request.declined"]
        assert one.emails("request_completed") == 0
    assert found.notes.count("completed:") + found.notes.count("rejected:") == 1


def test_six_concurrent_extensions_push_the_due_date_back_once(desk):
    one = desk("access", verified=True)
    due = one.request().due_at
    answers = one.post_at_once([("extend", {"days": str(10 + i), "reason": f"reason {i}"}) for i in range(CLIENTS)])
    statuses = [status for status, _text in answers]
    assert sorted(statuses) == [302] + [409] * (CLIENTS - 1), statuses
    assert all("a request can be extended only once" in text for status, text in answers if status == 409)
    [winner] = [i for i, (status, _text) in enumerate(answers) if status == 302]
    found = one.request()
    assert (found.due_at - due).days == 10 + winner and found.extension_reason == f"reason {winner}"
    assert one.lines() == ["request.extended"]


def test_six_concurrent_announcements_of_a_lift_tell_the_person_once(desk):
    one = desk("restriction", verified=True, carried_out=True)
    answers = one.post_at_once([("announce-lift", {})] * CLIENTS)
    statuses = [status for status, _text in answers]
    assert sorted(statuses) == [302] + [409] * (CLIENTS - 1), statuses
    assert all("the person was already told" in text for status, text in answers if status == 409)
    assert one.lines() == ["request.restriction_lift_announced"]
    assert one.emails("restriction_lift") == 1
    assert one.request().notes.count("lift announced") == 1


def test_six_concurrent_lifts_of_a_restriction_lift_it_once(desk):
    one = desk("restriction", verified=True, carried_out=True, lift_announced=True)
    answers = one.post_at_once([("lift", {})] * CLIENTS)
    statuses = [status for status, _text in answers]
    assert sorted(statuses) == [302] + [409] * (CLIENTS - 1), statuses
    assert all("the restriction is already lifted" in text for status, text in answers if status == 409)
    assert one.lines() == ["request.restriction_lifted"]
    assert one.request().notes.count("restriction lifted") == 1
    lifted = one.read(lambda session: list(session.scalars(select(ConsentEvent.channel_id).where(
        ConsentEvent.subject_id == one.subject_id, ConsentEvent.event_type == EventType.LIFTED))))
    assert lifted and len(lifted) == len(set(lifted))
