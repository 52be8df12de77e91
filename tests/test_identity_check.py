"""The identity check of a rights request: how it was done and its evidence, before anything is carried out."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from consent_center.models import Account, DataRequest, Role, StaffAction, Subject
from consent_center.rights.requests import IDENTITY_METHODS, file_request

from .conftest import form_post
from .test_subject_rights import clock  # noqa: F401 (a fixture)

CHECK = {"method": "code_to_address_on_file", "evidence": "Code read back on the phone",
         "reference": "ticket 4411"}
REFUSAL = "The requester&#39;s identity is not checked yet"


@pytest.fixture
def support(make_account, auth):
    account = make_account("sam@example.com", role=Role.SUPPORT, locale="en")
    auth.login("sam@example.com")
    return account


def _file(session, customer, kind) -> str:
    public_id = file_request(session, customer.subject, kind).public_id
    session.commit()
    return public_id


def _post(client, public_id, action, data=None):
    page = f"/admin/requests/{public_id}"
    return form_post(client, page, data or {}, action=f"{page}/{action}")


def _request(session, public_id) -> DataRequest:
    session.rollback()
    return session.scalars(select(DataRequest).where(DataRequest.public_id == public_id)).one()


def _log(session) -> list[StaffAction]:
    session.rollback()
    return list(session.scalars(select(StaffAction).order_by(StaffAction.id)))


def test_the_check_records_its_method_and_evidence_on_the_request_page_and_in_the_staff_log(
        client, session, customer, support):
    public_id = _file(session, customer, "erasure")
    form = client.get(f"/admin/requests/{public_id}").get_data(as_text=True)
    assert all(f'value="{method}"' in form for method in IDENTITY_METHODS)
    assert _post(client, public_id, "verify", CHECK).status_code == 302
    found = _request(session, public_id)
    assert (found.status, found.identity_method, found.identity_evidence, found.identity_reference) == (
        "verified", "code_to_address_on_file", "Code read back on the phone", "ticket 4411")
    assert found.identity_verified_by == support.id
    page = client.get(f"/admin/requests/{public_id}").get_data(as_text=True)
    assert "A one-time code sent to the e-mail address or phone number on file, read back" in page
    assert "Code read back on the phone" in page and "ticket 4411" in page
    [line] = _log(session)
    assert (line.account_id, line.action, line.target) == (support.id, "request.identity_checked",
                                                           f"request:{public_id}")
    assert line.details["method"] == "code_to_address_on_file"
    assert line.details["evidence"] == "Code read back on the phone"
    assert line.details["reference"] == "ticket 4411"
    assert line.details["subject"] == customer.subject.public_id and line.details["kind"] == "erasure"


@pytest.mark.parametrize("data", [
    {},
    {"evidence": "Code read back"},
    {"method": "asked_nicely", "evidence": "Code read back"},
    {"method": "document_seen"},
    {"method": "document_seen", "evidence": "   "},
    {"method": "document_seen", "evidence": "Seen", "reference": "ticket\n4411"},
    {"method": "document_seen", "evidence": "Seen", "reference": "x" * 201},
    {"method": "document_seen", "evidence": "x" * 4001},
    {"method": "Document_Seen", "evidence": "Seen"},
], ids=["nothing", "no-method", "unknown-method", "no-evidence", "blank-evidence", "two-line-reference",
        "long-reference", "long-evidence", "method-in-another-case"])
def test_a_check_without_a_known_method_or_evidence_is_refused_and_writes_nothing(
        client, session, customer, support, data):
    public_id = _file(session, customer, "erasure")
    response = _post(client, public_id, "verify", data)
    assert response.status_code == 400
    found = _request(session, public_id)
    assert found.identity_verified_at is None and found.identity_method is None and found.status == "received"
    assert found.notes is None and _log(session) == []


@pytest.mark.parametrize("kind", ["erasure", "access", "portability"])
def test_an_erasure_or_an_export_is_refused_for_an_unverified_requester(client, session, customer, support, kind):
    public_id = _file(session, customer, kind)
    response = _post(client, public_id, "carry-out")
    assert response.status_code == 409
    assert REFUSAL in response.get_data(as_text=True)
    found = _request(session, public_id)
    assert found.status == "received" and found.completed_at is None and found.notes is None
    subject = session.get(Subject, found.subject_id)
    assert subject.email == "camille@example.com" and subject.erased_at is None
    assert session.scalars(select(Account).where(Account.email == "camille@example.com")).first() is not None
    assert _log(session) == []


def test_an_erasure_is_carried_out_once_verified_and_its_line_names_the_method(client, session, customer, support):
    public_id = _file(session, customer, "erasure")
    assert _post(client, public_id, "verify", CHECK | {"method": "document_seen"}).status_code == 302
    assert _post(client, public_id, "carry-out").status_code == 302
    found = _request(session, public_id)
    assert found.status == "completed" and session.get(Subject, found.subject_id).erased_at is not None
    lines = _log(session)
    assert [a.action for a in lines] == ["request.identity_checked", "request.carried_out"]
    assert lines[1].details["identity_method"] == "document_seen" and lines[1].account_id == support.id


def test_the_same_check_or_carrying_out_twice_is_refused_and_logged_once(client, session, customer, support):
    public_id = _file(session, customer, "access")
    assert _post(client, public_id, "verify", CHECK).status_code == 302
    assert _post(client, public_id, "verify", CHECK | {"method": "document_seen"}).status_code == 409
    assert _request(session, public_id).identity_method == "code_to_address_on_file"
    assert _post(client, public_id, "carry-out").status_code == 302
    assert _post(client, public_id, "carry-out").status_code == 409
    assert _post(client, public_id, "reject").status_code == 409
    assert [a.action for a in _log(session)] == ["request.identity_checked", "request.carried_out"]


def test_a_request_verified_before_methods_were_recorded_is_checked_again_before_carrying_out(
        client, session, customer, support):
    public_id = _file(session, customer, "erasure")
    legacy = _request(session, public_id)
    legacy.status, legacy.identity_verified_at = "verified", legacy.received_at  # as an older version left it
    session.commit()
    assert _post(client, public_id, "carry-out").status_code == 409
    assert session.get(Subject, _request(session, public_id).subject_id).erased_at is None
    assert 'value="known_session"' in client.get(f"/admin/requests/{public_id}").get_data(as_text=True)
    assert _post(client, public_id, "verify", CHECK).status_code == 302
    assert _post(client, public_id, "carry-out").status_code == 302


def test_support_s_extension_decline_and_lift_are_in_the_staff_log(client, session, customer, support, auth, clock):
    extended = _file(session, customer, "access")
    assert _post(client, extended, "extend", {"days": "30", "reason": "Three systems."}).status_code == 302
    declined = _file(session, customer, "objection")
    assert _post(client, declined, "reject").status_code == 302
    restricted = _file(session, customer, "restriction")
    assert _post(client, restricted, "verify", CHECK).status_code == 302
    assert _post(client, restricted, "carry-out").status_code == 302
    assert _post(client, restricted, "lift").status_code == 409  # the person is told first (GDPR art. 18(3))
    assert _post(client, restricted, "announce-lift").status_code == 302
    clock.tick(timedelta(days=14))
    auth.login(support.email)
    assert _post(client, restricted, "lift").status_code == 302
    assert _post(client, restricted, "lift").status_code == 409
    lines = [(a.account_id, a.action, a.target) for a in _log(session)]
    assert lines == [
        (support.id, "request.extended", f"request:{extended}"),
        (support.id, "request.declined", f"request:{declined}"),
        (support.id, "request.identity_checked", f"request:{restricted}"),
        (support.id, "request.carried_out", f"request:{restricted}"),
        (support.id, "request.restriction_lift_announced", f"request:{restricted}"),
        (support.id, "request.restriction_lifted", f"request:{restricted}"),
    ]
    assert _log(session)[0].details["reason"] == "Three systems." and _log(session)[0].details["days"] == 30
