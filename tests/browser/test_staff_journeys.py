"""Staff in a real browser: an auditor exports part of the history; an admin publishes a
material policy version, and the customer is asked to confirm again.

Each journey runs on a desktop and a 360-pixel phone, with JavaScript on and off.
"""
import csv
import io
from datetime import datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy import select

from consent_center.ledger import Actor, record_change
from consent_center.models import ConsentEvent, EventType, Role, Source
from consent_center.policies.service import publish_policy

from ..conftest import PASSWORD
from .conftest import log_in

JAVASCRIPT = pytest.mark.parametrize("javascript", [True, False], ids=["js", "nojs"])


@pytest.fixture
def camille(session, make_account):
    """A customer whose choices were made under policy v1."""
    publish_policy(session, "v1", {"en": "Policy one: we write only if you agree."},
                   effective_at=datetime(2018, 11, 26, tzinfo=timezone.utc))
    session.commit()
    account = make_account("camille@example.com", name="Camille Martin", locale="en")
    record_change(session, account.subject, {"newsletter": "granted", "sms": "granted"},
                  source=Source.CUSTOMER_SPACE, actor=Actor.system())
    record_change(session, account.subject, {"sms": "withdrawn"}, source=Source.CUSTOMER_SPACE,
                  actor=Actor.system())
    session.commit()
    return account


def events_of(session, subject_id: int) -> list[ConsentEvent]:
    session.rollback()
    return list(session.scalars(select(ConsentEvent).where(ConsentEvent.subject_id == subject_id)
                                .order_by(ConsentEvent.seq)))


@JAVASCRIPT
def test_an_auditor_filters_the_history_and_downloads_an_export(live_server, new_page, session, make_account,
                                                                camille, check_page, javascript, viewport):
    public_id = camille.subject.public_id
    make_account("audrey@example.com", role=Role.AUDITOR, name="Audrey Auditor", locale="en")
    page = new_page(javascript=javascript)
    log_in(page, live_server, "audrey@example.com", PASSWORD)
    page.wait_for_url(f"{live_server}/staff")
    if viewport == "phone":  # the links are in the menu
        page.get_by_text("Menu", exact=True).click()
    page.get_by_role("link", name="Audit", exact=True).click()
    page.get_by_role("link", name="Export the ledger").click()
    page.get_by_label("Channel").select_option("sms")
    page.get_by_label("Person (identifier)").fill(public_id)
    page.get_by_role("button", name="Apply the filters").click()
    assert "channel=sms" in page.url
    check_page(page, "audit-export", javascript=javascript, readme="audit-export")
    with page.expect_download() as download_info:
        page.get_by_role("link", name="CSV", exact=True).click()
    download = download_info.value
    assert download.suggested_filename.endswith(".csv")
    rows = list(csv.DictReader(io.StringIO(Path(download.path()).read_text(encoding="utf-8"))))
    # The account's soft opt-in, the consent given over it (a change of basis), the withdrawal.
    assert [(row["channel"], row["status"], row["basis"]) for row in rows] == [
        ("sms", "granted", "soft_opt_in"), ("sms", "granted", "consent"), ("sms", "withdrawn", "consent")]
    assert {row["subject_id"] for row in rows} == {public_id}


@JAVASCRIPT
def test_an_admin_publishes_a_material_version_and_the_customer_confirms_again(
        live_server, new_page, session, make_account, camille, check_page, javascript):
    subject_id = camille.subject.id
    before = len(events_of(session, subject_id))
    make_account("ada@example.com", role=Role.ADMIN, name="Ada Admin", locale="en")
    session.rollback()

    admin = new_page(javascript=javascript)
    log_in(admin, live_server, "ada@example.com", PASSWORD)
    admin.wait_for_url(f"{live_server}/staff")
    admin.goto(f"{live_server}/admin/policies")
    admin.get_by_label("Version label").fill("v2")
    admin.get_by_label("Material change: customers are asked to confirm their choices again").check()
    admin.get_by_label("Text in English (Markdown)").fill("Policy two: we now also write by post.")
    admin.get_by_role("button", name="Publish", exact=True).click()
    assert admin.get_by_role("status").inner_text().strip() == "Policy version v2 is published."
    check_page(admin, "admin-policies", javascript=javascript, readme="admin-policies")

    customer = new_page(javascript=javascript)
    log_in(customer, live_server, "camille@example.com", PASSWORD)
    customer.wait_for_url(f"{live_server}/space/reconsent")
    assert customer.get_by_role("heading", level=1).inner_text() == "Our privacy policy has changed"
    check_page(customer, "reconsent", javascript=javascript, readme="reconsent")
    customer.get_by_role("button", name="Confirm my choices").click()
    customer.wait_for_url(f"{live_server}/space/preferences")
    assert customer.get_by_role("status").inner_text().strip().startswith(
        "Thank you: your choices are confirmed under the privacy policy v2.")

    renewed = events_of(session, subject_id)[before:]
    assert renewed, "no renewed event was recorded"
    assert {e.channel.code: (e.event_type, e.source, e.policy_version.label, e.status) for e in renewed}[
        "newsletter"] == (EventType.RENEWED, Source.RECONSENT, "v2", "granted")
    assert all(e.policy_version.label == "v2" for e in renewed)
    session.rollback()
