"""Erasure leaves no personal value anywhere: not in any table, not in any file of the instance folder.

A person who did everything (newsletter sign-up, account, address change,
manage link, rights requests, a change recorded by staff with a proof file,
e-mails delivered) is erased through the rights desk; then every column of
every table and every file under the instance folder is searched for each
erased value, in its stored and typed spellings. The ledger and every
receipt of the subject still verify.
"""
import email
import io
import json
import re
import unicodedata
from datetime import datetime, timezone
from email import policy as email_policy
from pathlib import Path

import pytest
from sqlalchemy import MetaData, select

from consent_center import tokens
from consent_center.extensions import db
from consent_center.models import ConsentEvent, DataRequest, Receipt, Role, Subject
from consent_center.policies.service import publish_policy
from consent_center.receipts.documents import verify_receipt
from consent_center.receipts.keys import key_ring

from .conftest import PASSWORD, csrf_from, form_post
from .inbound_fixtures import make_hook, post_generic, sms
from .mail_fixtures import deliver

OLD_EMAIL_TYPED, OLD_EMAIL = " Renee.Dupont@Example.BE ", "renee.dupont@example.be"
NEW_EMAIL_TYPED, NEW_EMAIL = "R.Dupont+News@Example.ORG", "r.dupont+news@example.org"
SIGNUP_NAME = "Renée Dupont"
NEW_NAME = "Renée Lefèvre-Dupont"
PHONE_TYPED, PHONE = "+32 470 12 34 56", "+32470123456"
POSTAL = "12 Rue Haute, 1000 Bruxelles"
REQUEST_DETAILS = "Forget everything about Renée Lefèvre-Dupont"
REASON_TEXT = "Renee moved to r.dupont+news@example.org, write there"
# What the database or a file holds before erasure (so the search is shown to find them) …
STORED = (OLD_EMAIL, NEW_EMAIL, SIGNUP_NAME, NEW_NAME, PHONE, POSTAL, REQUEST_DETAILS, REASON_TEXT)
# … and every spelling searched for after it.
SEARCHED = (*STORED, OLD_EMAIL_TYPED.strip(), NEW_EMAIL_TYPED, PHONE_TYPED, "0470 12 34 56",
            unicodedata.normalize("NFD", SIGNUP_NAME), unicodedata.normalize("NFD", NEW_NAME))
PROOF = f"%PDF-1.4 paper form signed by {NEW_NAME}, {NEW_EMAIL}, {PHONE}".encode()
STAFF = "ada@example.com"


def _fold(text: str) -> str:
    return unicodedata.normalize("NFC", text).casefold()


def _value_text(value) -> str:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).decode("utf-8", "replace")
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    text = str(value)
    if isinstance(value, str) and text[:1] in "{[\"":
        try:  # JSON kept as text (SQLite) escapes non-ASCII characters: read it back
            text += " " + json.dumps(json.loads(text), ensure_ascii=False)
        except ValueError:
            pass
    return text


def database_text(session) -> str:
    """Every column of every row of every table of the database (reflected, not the models)."""
    session.rollback()
    metadata = MetaData()
    metadata.reflect(bind=db.engine)
    assert {"subjects", "outbox", "staff_actions", "newsletter_signups"} <= set(metadata.tables)
    chunks = []
    with db.engine.connect() as connection:
        for table in metadata.sorted_tables:
            for row in connection.execute(select(table)):
                chunks.extend(_value_text(v) for v in row if v is not None)
    return _fold("\n".join(chunks))


def instance_text(app) -> str:
    """Every file under the instance folder, raw and, for e-mails, decoded."""
    chunks = []
    for path in Path(app.instance_path).rglob("*"):
        if not path.is_file():
            continue
        raw = path.read_bytes()
        chunks.append(raw.decode("utf-8", "replace"))
        if path.suffix == ".eml":
            message = email.message_from_bytes(raw, policy=email_policy.default)
            chunks.extend(str(v) for v in message.values())
            chunks.extend(part.get_content() for part in message.walk() if part.get_content_maintype() == "text")
    return _fold("\n".join(chunks))


def mails(app, to: str, topic: str) -> list[email.message.EmailMessage]:
    found = []
    for path in sorted((Path(app.instance_path) / "outbox").glob(f"*-{topic}-*.eml")):
        message = email.message_from_bytes(path.read_bytes(), policy=email_policy.default)
        if to in str(message["To"]):
            found.append(message)
    return found


def link_in(message, prefix: str) -> str:
    text = message.get_body(preferencelist=("plain",)).get_content()
    return re.search(rf"http://localhost({re.escape(prefix)}\S+)", text).group(1)


def press(client, path: str, data: dict | None = None):
    """Open the page the link leads to, then press its button (with its CSRF token)."""
    page = client.get(path)
    assert page.status_code == 200, path
    return client.post(path, data={"csrf_token": csrf_from(page.get_data(as_text=True)), **(data or {})})


@pytest.fixture
def staff(session, make_account):
    publish_policy(session, "2026-01", {"fr": "Politique.", "nl": "Beleid.", "en": "Policy."},
                   effective_at=datetime(2026, 1, 1, tzinfo=timezone.utc))
    session.commit()
    return make_account(STAFF, role=Role.ADMIN, locale="en")


def live_a_whole_life(app, client, auth, session, runner) -> str:
    """Everything a person can do that leaves a trace; return their subject's public id."""
    # The newsletter, by double opt-in.
    assert form_post(client, "/subscribe", {"email": OLD_EMAIL_TYPED, "name": SIGNUP_NAME, "locale": "en",
                                            "policy_version": "2026-01", "accept_policy": "y"}).status_code == 302
    deliver(runner)
    (confirmation,) = mails(app, OLD_EMAIL, "double_opt_in")
    assert press(client, link_in(confirmation, "/subscribe/confirm/")).status_code == 200

    # An account, made by staff, whose password is chosen through the invitation.
    auth.login(STAFF)
    assert form_post(client, "/admin/accounts", {"email": OLD_EMAIL_TYPED, "name": SIGNUP_NAME,
                                                 "role": "customer", "locale": "en"}).status_code == 302
    auth.logout()
    deliver(runner)
    (invitation,) = mails(app, OLD_EMAIL, "invitation")
    assert press(client, link_in(invitation, "/invitation/"),
                 {"password": PASSWORD, "confirm": PASSWORD}).status_code == 302

    # Rectification: name, phone, postal address, and a new e-mail address through its link.
    auth.login(OLD_EMAIL)
    assert form_post(client, "/space/profile", {"name": NEW_NAME, "email": NEW_EMAIL_TYPED, "phone": PHONE_TYPED,
                                                "postal_address": POSTAL, "locale": "en"}).status_code == 302
    auth.logout()
    deliver(runner)
    assert mails(app, OLD_EMAIL, "email_change_notice")
    (change,) = mails(app, NEW_EMAIL, "email_change")
    assert press(client, link_in(change, "/space/email/confirm/")).status_code == 200

    # A manage link asked for on the public page, and two rights requests.
    assert form_post(client, "/manage", {"email": NEW_EMAIL}).status_code == 302
    auth.login(NEW_EMAIL)
    assert form_post(client, "/space/requests", {"kind": "access", "details": REQUEST_DETAILS}).status_code == 302
    assert form_post(client, "/space/requests", {"kind": "erasure", "details": REQUEST_DETAILS}).status_code == 302
    auth.logout()

    # Staff record a change heard on the phone, with the signed form as proof.
    session.rollback()
    subject = session.scalars(select(Subject).where(Subject.email == NEW_EMAIL)).one()
    public_id = subject.public_id
    auth.login(STAFF)
    assert form_post(client, f"/admin/people/{public_id}", {
        "active": ["newsletter", "sms"], "method": "paper_form", "evidence": "Paper form, ticket 4411",
        "proof": (io.BytesIO(PROOF), "form.pdf"),
    }, content_type="multipart/form-data").status_code == 302
    auth.logout()
    session.rollback()
    staff_change = session.scalars(select(ConsentEvent).where(ConsentEvent.source == "staff")).first()
    assert (Path(app.instance_path) / "proofs" / staff_change.evidence["proof"]["sha256"]).read_bytes() == PROOF
    # The person texts STOP back, and then a chat, from their number in national form.
    hook, url = make_hook(session)
    for n, text in enumerate(("Stop svp Renée", f"Bonjour, ici {NEW_NAME}")):
        answer = post_generic(client, url, hook, sms(text, sender="0470 12 34 56", to="+32460200000", id=f"SM{n}"))
        assert answer.status_code == 200, answer.get_data(as_text=True)
    session.rollback()
    assert session.scalars(select(ConsentEvent).where(ConsentEvent.source == "sms_keyword")).first() is not None
    # An unsubscribe link's page, and the reason after it, in the person's own words.
    link = f"/u/{tokens.unsubscribe_token(public_id, 'newsletter')}"
    page = client.post(link, data={"action": "channel"}, headers={"Sec-Fetch-Site": "same-origin"})
    nonce = re.search(r'name="nonce" value="([^"]+)">\s*<fieldset>', page.get_data(as_text=True)).group(1)
    assert client.post(f"{link}/reason", data={"nonce": nonce, "reason": "other", "detail": REASON_TEXT},
                       headers={"Sec-Fetch-Site": "same-origin"}).status_code == 200
    deliver(runner)
    assert mails(app, NEW_EMAIL, "manage_link") and mails(app, NEW_EMAIL, "request_received")
    return public_id


def erase_through_the_desk(client, auth, session) -> None:
    session.rollback()
    request = session.scalars(select(DataRequest).where(DataRequest.kind == "erasure")).one()
    page = f"/admin/requests/{request.public_id}"
    auth.login(STAFF)
    identity = {"method": "known_session", "evidence": "Filed from the signed-in space"}
    assert form_post(client, page, identity, action=f"{page}/verify").status_code == 302
    assert form_post(client, page, {}, action=f"{page}/carry-out").status_code == 302
    auth.logout()


def test_erasure_leaves_no_erased_value_in_any_table_or_instance_file_and_everything_still_verifies(
        app, client, auth, session, runner, staff):
    public_id = live_a_whole_life(app, client, auth, session, runner)
    before = database_text(session) + instance_text(app)
    for value in STORED:
        assert _fold(value) in before, value  # the search finds what is there

    erase_through_the_desk(client, auth, session)
    deliver(runner)

    in_database, in_files = database_text(session), instance_text(app)
    for value in SEARCHED:
        assert _fold(value) not in in_database, f"{value!r} left in the database"
        assert _fold(value) not in in_files, f"{value!r} left in a file of the instance folder"

    assert runner.invoke(args=["ledger", "verify"]).exit_code == 0
    session.rollback()
    subject = session.scalars(select(Subject).where(Subject.public_id == public_id)).one()
    receipts = session.scalars(select(Receipt).where(Receipt.subject_id == subject.id)).all()
    assert len(receipts) >= 3  # double opt-in, staff change, erasure
    keys = dict(key_ring().public)
    for receipt in receipts:
        assert verify_receipt(receipt.jws, keys)


def test_an_address_the_person_left_and_someone_else_now_holds_keeps_that_persons_mail(
        app, client, auth, session, runner, staff, customer):
    auth.login("camille@example.com")
    form_post(client, "/space/profile", {"email": "camille.new@example.com", "locale": "en"})
    auth.logout()
    deliver(runner)
    (change,) = mails(app, "camille.new@example.com", "email_change")
    assert press(client, link_in(change, "/space/email/confirm/")).status_code == 200
    # The old address now belongs to someone else, who is invited to an account of their own.
    auth.login(STAFF)
    assert form_post(client, "/admin/accounts", {"email": "camille@example.com", "name": "Other Person",
                                                 "role": "customer", "locale": "en"}).status_code == 302
    auth.logout()
    deliver(runner)
    auth.login("camille.new@example.com")
    assert form_post(client, "/space/requests", {"kind": "erasure"}).status_code == 302
    auth.logout()
    erase_through_the_desk(client, auth, session)

    assert mails(app, "camille@example.com", "invitation")  # the other person's mail stays
    assert not mails(app, "camille@example.com", "email_change_notice")  # the erased person's goes
    assert not mails(app, "camille.new@example.com", "email_change")
    session.rollback()
    assert session.scalars(select(Subject).where(Subject.email == "camille@example.com")).one().name == "Other Person"


def test_erasure_forgets_texts_from_a_number_the_person_had_before_and_any_sent_after(client, session, staff):
    from consent_center.ledger import Actor, record_change
    from consent_center.rights.erasure import erase
    from consent_center.subjects.rectification import rectify
    from consent_center.subjects.service import create_subject

    old, new = ("+32470999888", "0470 99 98 88"), (PHONE, "0470 12 34 56")
    subject = create_subject(session, actor=Actor.system(), email=NEW_EMAIL, phone=old[0], locale="fr")
    record_change(session, subject, {"sms": "granted"}, source="api", actor=Actor.system())
    session.commit()
    public_id = subject.public_id
    hook, url = make_hook(session)
    # A stop from the number the person had then; a chat from the one they have now.
    assert post_generic(client, url, hook, sms("STOP", sender=old[1], to="+32460200000", id="SM1")
                        ).json["accepted"][0]["outcome"] == "stopped"
    session.rollback()
    subject = session.scalars(select(Subject).where(Subject.public_id == public_id)).one()
    rectify(session, subject, None, name=None, phone=new[0], postal_address=None, locale="fr", email=None)
    session.commit()
    assert post_generic(client, url, hook, sms("Bonjour", sender=new[1], to="+32460200000", id="SM2")
                        ).status_code == 200
    assert _fold(old[0]) in database_text(session) and _fold(new[0]) in database_text(session)

    subject = session.scalars(select(Subject).where(Subject.public_id == public_id)).one()
    erase(session, subject, actor=Actor.system())
    session.commit()
    # Texted again after the erasure: the number is on the suppression list, so it is not kept again.
    later = post_generic(client, url, hook, sms(f"Bonjour, {NEW_NAME}", sender=new[1], to="+32460200000", id="SM3"))
    assert later.json["accepted"][0]["outcome"] == "ignored"
    text = database_text(session)
    for value in (*old, *new, NEW_NAME):
        assert _fold(value) not in text, f"{value!r} left in the database"
    assert runner_free_ledger_ok(session)


def runner_free_ledger_ok(session) -> bool:
    from consent_center.ledger.chain import verify_chains

    session.rollback()
    return verify_chains(session).ok
