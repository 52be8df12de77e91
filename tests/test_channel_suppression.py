"""Suppression lists by medium and undeliverable addresses (issue 23, items 3 and 4).

A register imported from a file (the command line), SMS STOPs and spam
complaints (the built-in lists), bounces: every check names the list or says
the address is undeliverable; customers are exempt where the list says so; an
expired list no longer applies; the bulk check stays one query.
"""
from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest
from freezegun import freeze_time
from sqlalchemy import select

from consent_center.check.channels import channel_id, channel_rules
from consent_center.ledger import Actor, record_change
from consent_center.models import (
    Role,
    Source,
    StaffAction,
    Subject,
    SuppressionList,
    UndeliverableAddress,
)
from consent_center.policies.channels import create_channel
from consent_center.rights.erasure import erase
from consent_center.subjects.channel_suppression import (
    lift_on_channel,
    lists_naming,
    suppress_on_channel,
)
from consent_center.subjects.deliverability import (
    record_bounce,
    record_delivery,
    scrubbed_detail,
    undeliverable_among,
)
from consent_center.subjects.list_import import ListImportError, read_identifiers

from .api_fixtures import assert_matches_spec
from .conftest import form_post
from .test_hot_paths import statements  # noqa: F401, F811 (a fixture)

NAMES = {"fr": "Appels", "nl": "Oproepen", "en": "Calls"}
LEA, MAX, ZOE = "lea@example.com", "max@example.com", "zoe@example.com"
LEA_PHONE, MAX_PHONE, ZOE_PHONE = "+33612345678", "+33698765432", "+33611223344"
T = datetime(2026, 12, 10, 9, tzinfo=UTC)



def _grant(session, subject, channel):
    record_change(session, subject, {channel: "granted"}, source=Source.API, actor=Actor.system())
    session.commit()


def _check(api, channel, **query):
    response = api.get("/check", query_string={"channel": channel, **query})
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def _bulk(api, channel, answer="full", **body):
    response = api.post("/check", json={"channel": channel, "answer": answer, **body})
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    return body["results"] if answer == "full" else body["allowed"]


def _import(runner, tmp_path, text, *args):
    path = tmp_path / "list.txt"
    path.write_text(text, encoding="utf-8")
    return runner.invoke(args=["suppression", "import", "--file", str(path), *args])


@freeze_time(T)
def test_a_register_imported_from_a_file_is_named_by_every_check(app, api, session, runner, make_subject,
                                                                 tmp_path, statements):
    create_channel(session, code="calls", names=NAMES, purposes=NAMES, default_status="never_asked",
                   default_basis="consent", validity_months=None, medium="phone")
    session.commit()
    lea = make_subject(LEA, phone=LEA_PHONE)
    max_ = make_subject(MAX, phone=MAX_PHONE, is_customer=True)
    zoe = make_subject(ZOE, phone=ZOE_PHONE)
    for subject in (lea, max_, zoe):
        _grant(session, subject, "calls")
        _grant(session, subject, "email")
    # Before any list of the medium the check hashes nothing for lists; the import drops what it cached.
    assert _check(api, "calls", email=LEA)["allowed"] is True
    assert channel_rules(session.connection(), channel_id(session.connection(), "calls")).lists is False
    session.rollback()
    # A header, national and international forms, a blank line, an address (a Robinson list may hold them).
    bloctel = "numero\n06 12 34 56 78\n+33 6 98 76 54 32\n\n0033 6 55 44 33 22\nsomeone@example.com\n"
    result = _import(runner, tmp_path, bloctel, "--list", "Bloctel", "--channel", "calls", "--date", "2026-12-01",
                     "--valid-until", "2026-12-31", "--customers-exempt", "--region", "fr")
    assert result.exit_code == 0, result.output
    assert "4 entries from 6 lines" in result.output
    line = session.scalars(select(StaffAction).order_by(StaffAction.id.desc())).first()
    assert (line.action, line.target, line.via) == ("suppression_list.imported", "list:Bloctel", "cli")
    session.rollback()

    # The single check, by e-mail and by subject: Léa is listed; Max is a customer (exempt); Zoé is not on it.
    answer = _check(api, "calls", email=LEA)
    assert (answer["allowed"], answer["status"], answer["list"]) == (False, "listed", "Bloctel")
    assert_matches_spec(app, answer, "CheckResult")
    assert _check(api, "calls", subject=lea.public_id)["status"] == "listed"
    assert _check(api, "calls", email=MAX)["allowed"] is True
    assert _check(api, "calls", email=ZOE)["allowed"] is True
    assert _check(api, "email", email=LEA)["allowed"] is True  # another medium: the register says nothing
    consents = {c["channel"]: c for c in api.get(f"/subjects/{lea.public_id}/consents").get_json()["consents"]}
    assert (consents["calls"]["allowed"], consents["calls"]["status"]) == (False, "listed")
    assert consents["email"]["allowed"] is True
    # The bulk checks, by e-mail and by subject (the subjects' numbers are looked up once for the list).
    emails = [LEA, MAX, ZOE, "nobody@example.com", LEA]
    _check(api, "calls", email="nobody@example.com")  # the key and the channels are cached
    statements.clear()
    results = _bulk(api, "calls", emails=emails)
    # The states, the subjects' numbers on the list, and the erasure list for the one address no subject has.
    assert statements.count("SELECT") == 3, statements
    assert [(r["allowed"], r["status"], r.get("list")) for r in results] == [
        (False, "listed", "Bloctel"), (True, "granted", None), (True, "granted", None),
        (False, "unknown", None), (False, "listed", "Bloctel")]
    assert results[0]["subject"] == lea.public_id and results[0]["basis"] == "consent"
    assert _bulk(api, "calls", "allowed", emails=emails) == [False, True, True, False, False]
    subjects = [lea.public_id, max_.public_id, zoe.public_id]
    assert [r["status"] for r in _bulk(api, "calls", subjects=subjects)] == ["listed", "granted", "granted"]
    assert _bulk(api, "calls", "allowed", subjects=subjects) == [False, True, True]
    assert lists_naming(session, [LEA_PHONE, MAX_PHONE, ZOE_PHONE], "phone", customers=frozenset({MAX_PHONE})) \
        == {LEA_PHONE: "Bloctel"}
    session.rollback()

    # By phone, the identifier the register holds: one query, single or bulk, whatever the spelling;
    # a number no subject has on it is listed too; the customer exempt.
    statements.clear()
    single = _check(api, "calls", phone="06 12 34 56 78")
    assert statements.count("SELECT") == 1, statements
    assert (single["allowed"], single["status"], single["list"], single["subject"], single["phone"]) == (
        False, "listed", "Bloctel", lea.public_id, LEA_PHONE)
    assert_matches_spec(app, single, "CheckResult")
    numbers = [LEA_PHONE, "06 98 76 54 32", ZOE_PHONE, "0033 6 55 44 33 22", "+33687654321", "06 12 34 56 78"]
    statements.clear()
    results, compact = _bulk(api, "calls", phones=numbers), _bulk(api, "calls", "allowed", phones=numbers)
    assert statements.count("SELECT") == 2, statements  # one query each
    assert [(r["allowed"], r["status"], r.get("list"), r["subject"]) for r in results] == [
        (False, "listed", "Bloctel", lea.public_id), (True, "granted", None, max_.public_id),
        (True, "granted", None, zoe.public_id), (False, "listed", "Bloctel", None), (False, "unknown", None, None),
        (False, "listed", "Bloctel", lea.public_id)]
    assert compact == [r["allowed"] for r in results]
    assert [_check(api, "calls", phone=number) for number in numbers] == results
    # Max's number shared with someone who is no customer: the register applies to that one, who speaks
    # for the number (one "no" is never outvoted).
    paul = make_subject("paul@example.com", phone=MAX_PHONE)
    _grant(session, paul, "calls")
    shared = _check(api, "calls", phone=MAX_PHONE)
    assert (shared["allowed"], shared["status"], shared["list"], shared["subject"], shared["shared_by"]) == (
        False, "listed", "Bloctel", paul.public_id, 2)
    assert _bulk(api, "calls", phones=[MAX_PHONE])[0] == shared
    assert _bulk(api, "calls", "allowed", phones=[MAX_PHONE, ZOE_PHONE]) == [False, True]
    # As of a moment the answer is the ledger's: lists keep no history (as by e-mail).
    past = _check(api, "calls", phone=LEA_PHONE, at="2026-12-10T09:00:00Z")
    assert (past["allowed"], past["status"]) == (True, "granted")
    session.rollback()

    # A line that is no identifier: nothing imported, the line named, the list as it was.
    result = _import(runner, tmp_path, "0611223344\nnot a number\n", "--list", "Bloctel", "--channel", "phone")
    assert result.exit_code != 0 and "line 2" in result.output and "nothing was imported" in result.output
    assert session.scalars(select(SuppressionList.entry_count)).one() == 4
    session.rollback()
    # Imported again: the entries replaced (Léa off, Zoé on).
    result = _import(runner, tmp_path, "06 11 22 33 44\n", "--list", "Bloctel", "--channel", "phone",
                     "--valid-until", "2026-12-31")
    assert result.exit_code == 0 and "replacing 4" in result.output, result.output
    assert [r["status"] for r in _bulk(api, "calls", subjects=subjects)] == ["granted", "granted", "listed"]
    listing = runner.invoke(args=["suppression", "list"]).output
    assert "Bloctel\tphone\texternal\t1 entries" in listing and "in force" in listing

    # Past its validity the extract no longer applies, and the list says so.
    with freeze_time("2027-01-01 09:00:00"):
        assert _check(api, "calls", email=ZOE)["allowed"] is True
        assert "EXPIRED" in runner.invoke(args=["suppression", "list"]).output


def test_bad_list_imports_are_refused_with_their_reason(runner, session, tmp_path):
    assert _import(runner, tmp_path, "x@example.com\n", "--list", "L", "--channel", "fax").exit_code != 0
    result = _import(runner, tmp_path, "x@example.com\n", "--list", "L", "--channel", "email",
                     "--date", "2026-12-10", "--valid-until", "2026-12-01")
    assert result.exit_code != 0 and "before the list's date" in result.output
    result = _import(runner, tmp_path, "x@example.com\n", "--list", "Spam complaints", "--channel", "email")
    assert result.exit_code == 0  # no built-in list yet: an external one may take the name
    with pytest.raises(ListImportError) as raised:
        read_identifiers(["email\n", "a@example.com\n", "header again\n", "06 12\n"], "FR")
    assert [line for line, _ in raised.value.errors] == [3, 4]
    # The same number in two spellings, an address in capitals: one stored form each.
    assert read_identifiers(["06 12 34 56 78", "+33612345678", "A@Example.COM"], "FR")[0] == [
        LEA_PHONE, LEA_PHONE, "a@example.com"]


@freeze_time(T)
def test_complaints_stops_and_bounces_in_the_e_mail_bulk_check_one_query(app, api, session, make_subject,
                                                                         statements):
    a, b, c = (make_subject(f"{n}@example.com") for n in "abc")
    for subject in (a, b, c):
        _grant(session, subject, "newsletter")
    ids = [b.public_id, c.public_id]
    # A complaint from a subject and from an address no one has; twice (idempotent).
    for _ in range(2):
        suppress_on_channel(session, "a@example.com", "email", source="complaint")
        suppress_on_channel(session, "d@example.com", "email", source="complaint")
    suppress_on_channel(session, "+33612345678", "sms", source="sms_keyword")
    session.commit()
    counts = dict(session.execute(select(SuppressionList.name, SuppressionList.entry_count)).all())
    assert counts == {"Spam complaints": 2, "SMS STOP": 1}
    session.rollback()
    # b: one hard bounce. c: two soft, a delivery, one soft — still fine.
    record_bounce(session, "B@example.com", hard=True, at=T, provider="postmark",
                  detail="550 5.1.1 <b@example.com>: mailbox b unknown")
    for soft in (True, True, False, True):
        if soft:
            record_bounce(session, "c@example.com", hard=False, at=T, detail="452 mailbox full", provider="ses")
        else:
            record_delivery(session, "c@example.com", at=T)
    session.commit()
    emails = ["a@example.com", "b@example.com", "c@example.com", "d@example.com", "e@example.com"]
    _check(api, "newsletter", email="e@example.com")  # the key and the channels are cached
    statements.clear()
    results = _bulk(api, "newsletter", emails=emails)
    compact = _bulk(api, "newsletter", "allowed", emails=emails)
    assert statements.count("SELECT") == 2, statements  # one query each
    assert [(r["status"], r.get("list"), r.get("reason")) for r in results] == [
        ("listed", "Spam complaints", None), ("undeliverable", None, "hard_bounce"), ("granted", None, None),
        ("listed", "Spam complaints", None), ("unknown", None, None)]
    assert compact == [False, False, True, False, False]
    for result in results:
        assert_matches_spec(app, result, "CheckResult")
    # The single check by e-mail: the state, the erasure list and the blocks in one query too.
    statements.clear()
    single = _check(api, "newsletter", email="b@example.com")
    assert statements.count("SELECT") == 1, statements
    assert (single["allowed"], single["status"], single["reason"]) == (False, "undeliverable", "hard_bounce")
    assert _check(api, "newsletter", email="d@example.com")["list"] == "Spam complaints"
    assert [_check(api, "newsletter", email=e)["status"] for e in ("a@example.com", "c@example.com")] == [
        "listed", "granted"]
    assert _check(api, "sms", email="b@example.com")["status"] != "undeliverable"  # e-mail channels only

    # Two more soft bounces in a row: the third marks c; a delivery does not clear b's hard bounce.
    record_bounce(session, "c@example.com", hard=False, at=T, detail="452 mailbox full", provider="ses")
    record_bounce(session, "c@example.com", hard=False, at=T, detail="452 mailbox full", provider="ses")
    record_delivery(session, "b@example.com", at=T)
    session.commit()
    assert _bulk(api, "newsletter", subjects=ids)[1]["reason"] == "soft_bounces"
    assert _bulk(api, "newsletter", "allowed", subjects=ids) == [False, False]
    assert undeliverable_among(session, ["b@example.com", "c@example.com", "a@example.com", "bad"]) == {
        "b@example.com": "hard_bounce", "c@example.com": "soft_bounces"}
    # No address in what is kept of the diagnostic.
    assert all("b@example.com" not in (m.detail or "") for m in session.scalars(select(UndeliverableAddress)))
    # An SMS START from an unknown number lifts its STOP; once.
    assert lift_on_channel(session, "+33612345678", "sms", source="sms_keyword") is True
    assert lift_on_channel(session, "+33612345678", "sms", source="sms_keyword") is False
    session.commit()
    assert session.scalars(select(SuppressionList.entry_count).where(SuppressionList.name == "SMS STOP")).one() == 0


def test_a_diagnostic_keeps_no_address():
    assert scrubbed_detail("550 <Jean.Dupont@example.com> unknown; user jean.dupont\n", "jean.dupont@example.com") \
        == "550 <address> unknown; user <address>"
    assert scrubbed_detail(None, "a@example.com") is None
    assert len(scrubbed_detail("x" * 500, "a@example.com")) == 200


def test_admins_upload_a_list_and_see_which_have_expired(client, session, make_account, auth):
    make_account("ada@example.com", role=Role.ADMIN, locale="en")
    make_account("sam@example.com", role=Role.SUPPORT, locale="en")
    upload = {"name": "Bel-me-niet", "medium": "phone", "region": "NL", "list_date": "2026-11-01",
              "valid_until": "2026-11-30"}
    auth.login("sam@example.com")  # support may not
    assert form_post(client, "/admin/suppression", {**upload, "file": (io.BytesIO(b"06 12345678\n"), "l.txt")},
                     content_type="multipart/form-data").status_code == 403
    auth.logout()
    with freeze_time("2026-11-15 10:00:00"):
        auth.login("ada@example.com")
        bad = form_post(client, "/admin/suppression",
                        {**upload, "file": (io.BytesIO(b"telefoon\n06 12345678\n12\n"), "l.txt")},
                        content_type="multipart/form-data")
        assert bad.status_code == 400 and "Line 3" in bad.get_data(as_text=True)
        assert session.scalars(select(SuppressionList)).all() == []
        session.rollback()
        good = form_post(client, "/admin/suppression",
                         {**upload, "file": (io.BytesIO(b"telefoon\n06 12345678\n+31 6 87654321\n"), "l.txt")},
                         content_type="multipart/form-data", follow_redirects=True)
        page = good.get_data(as_text=True)
        assert good.status_code == 200 and "Bel-me-niet" in page and "In force" in page
        assert "Expired suppression lists" not in client.get("/admin/").get_data(as_text=True)
    listed = session.scalars(select(SuppressionList)).one()
    assert (listed.medium, listed.entry_count, str(listed.valid_until)) == ("phone", 2, "2026-11-30")
    session.rollback()
    with freeze_time("2026-12-01 10:00:00"):
        auth.logout()
        auth.login("ada@example.com")
        home = client.get("/admin/").get_data(as_text=True)
        assert "Bel-me-niet expired on 2026-11-30" in home
        assert "Expired: import a new extract" in client.get("/admin/suppression").get_data(as_text=True)


def test_the_person_sees_an_undeliverable_address_until_it_is_corrected_and_erasure_keeps_no_detail(
        client, session, customer, auth, api):
    public_id = customer.subject.public_id

    def subject():  # read afresh: each request ends the scoped session
        return session.scalars(select(Subject).where(Subject.public_id == public_id)).one()
    _grant(session, subject(), "newsletter")
    assert _check(api, "newsletter", email="camille@example.com")["allowed"] is True  # cached: no mark, no list
    record_bounce(session, "camille@example.com", hard=True, at=T, provider="ses",
                  detail="550 Camille Martin <camille@example.com> does not exist")
    session.commit()
    # The first mark drops the cache: the check asks the marks again.
    assert _check(api, "newsletter", email="camille@example.com")["status"] == "undeliverable"
    assert _bulk(api, "newsletter", "allowed", emails=["camille@example.com"]) == [False]
    auth.login("camille@example.com")
    page = client.get("/space/preferences").get_data(as_text=True)
    assert "cannot be delivered" in page and 'href="/space/profile"' in page
    # A corrected address (as the confirmed change stores it) is another digest: no longer marked.
    subject().email = "camille.martin@example.com"
    session.commit()
    assert "cannot be delivered" not in client.get("/space/preferences").get_data(as_text=True)
    auth.logout()
    subject().email = "camille@example.com"
    session.commit()
    erase(session, subject(), actor=Actor.system())
    session.commit()
    mark = session.scalars(select(UndeliverableAddress)).one()
    assert (mark.state, mark.detail) == ("undeliverable", None)  # the digest stays, as on the erasure list


def test_a_bulk_check_of_nothing_valid_still_answers(api):
    for answer in ("full", "allowed"):
        assert len(_bulk(api, "email", answer, emails=["not an address", "x@"])) == 2
        assert _bulk(api, "sms", answer, subjects=["0123456789abcdef01234567"]) in (
            [False], [{"allowed": False, "channel": "sms", "status": "unknown", "basis": None, "policy_version": None,
                       "changed_at": None, "subject": "0123456789abcdef01234567"}])
