"""/space/receipts: a customer's own signed receipts, readable, printable, downloadable."""
import json

from sqlalchemy import select

from consent_center.models import Receipt, Role
from consent_center.receipts.keys import key_ring
from consent_center.receipts.documents import verify_receipt

from .conftest import account_by_email, form_post


def receipts_of(session, email):
    session.rollback()
    subject = account_by_email(session, email).subject
    return session.scalars(select(Receipt).where(Receipt.subject_id == subject.id)
                           .order_by(Receipt.id)).all()


def test_receipts_page_lists_every_receipt_with_its_changes(client, auth, customer, session):
    auth.login(customer.email)
    form_post(client, "/space/preferences", {"active": ["email", "post", "newsletter"]})
    page = client.get("/space/receipts", headers={"Accept-Language": "en"}).get_data(as_text=True)
    mine = receipts_of(session, customer.email)
    assert len(mine) == 2  # the defaults at sign-up, then the change
    for receipt in mine:
        assert f"/space/receipts/{receipt.public_id}" in page
        assert f"/space/receipts/{receipt.public_id}.json" in page
    assert "Newsletter" in page and "Inactive (withdrawn)" in page
    assert "/.well-known/jwks.json" in page and "python -m consent_center.receipts.verify" in page
    assert 'aria-current="page"' in page and 'href="/space/receipts"' in page


def test_a_receipt_page_is_readable_and_printable(client, auth, customer, session):
    auth.login(customer.email)
    receipt = receipts_of(session, customer.email)[0]
    response = client.get(f"/space/receipts/{receipt.public_id}", headers={"Accept-Language": "en"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Consent receipt" in html and receipt.public_id in html
    assert "Ed25519" in html and key_ring().active_kid in html
    assert 'class="actions no-print"' in html  # the print stylesheet hides the buttons
    with client.get("/static/site.css") as css:
        assert "@media print" in css.get_data(as_text=True)


def test_the_download_is_json_with_a_signature_that_verifies(app, client, auth, customer, session):
    auth.login(customer.email)
    receipt = receipts_of(session, customer.email)[0]
    response = client.get(f"/space/receipts/{receipt.public_id}.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert "attachment" in response.headers["Content-Disposition"]
    data = json.loads(response.get_data(as_text=True))
    assert data["document"]["consentReceiptID"] == receipt.public_id
    assert data["kid"] == key_ring().active_kid and data["alg"] == "EdDSA"
    assert data["jwks_uri"] == "http://localhost/.well-known/jwks.json"
    verified = verify_receipt(response.get_data(as_text=True), dict(key_ring().public))
    assert verified.document == data["document"]


def test_another_customers_receipt_is_not_found(client, auth, customer, make_account, session):
    make_account("other@example.com")
    theirs = receipts_of(session, "other@example.com")[0]
    auth.login(customer.email)
    assert client.get(f"/space/receipts/{theirs.public_id}").status_code == 404
    assert client.get(f"/space/receipts/{theirs.public_id}.json").status_code == 404
    assert client.get("/space/receipts/not-a-receipt").status_code == 404
    assert theirs.public_id not in client.get("/space/receipts").get_data(as_text=True)


def test_receipts_need_a_customer_login(client, auth, make_account):
    assert client.get("/space/receipts").status_code == 302
    make_account("auditor@example.com", role=Role.AUDITOR)
    auth.login("auditor@example.com")
    assert client.get("/space/receipts").status_code == 403
