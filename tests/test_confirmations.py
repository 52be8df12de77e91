"""Every confirmation names its new receipt and links to it where the viewer may open it;
"unsubscribe from everything" in the space; the optional reason after unsubscribing."""
import json
import re

from sqlalchemy import select

from consent_center import tokens
from consent_center.ledger import Actor
from consent_center.models import Receipt, Role, UnsubscribeReason
from consent_center.subjects.service import create_subject
from consent_center.urls import manage_url

from .conftest import form_post
from .test_space import states
from .test_unsubscribe import url
from .test_unsubscribe_buttons import SAME_SITE, subject  # noqa: F401, F811 (subject: a fixture)

RECEIPT_LINK = re.compile(r'<a href="(/space/receipts/([0-9a-f-]+))">reçu \2</a>')


def newest_receipt(session) -> Receipt:
    session.rollback()
    return session.scalars(select(Receipt).order_by(Receipt.id.desc())).first()


def test_the_space_links_each_change_to_its_receipt_and_stops_everything_after_confirming(
        client, auth, make_account, session):
    make_account("lea@example.com", name="Léa", locale="fr")
    auth.login("lea@example.com")
    saved = form_post(client, "/space/preferences", {"active": ["email", "post"]})
    page = client.get(saved.location).get_data(as_text=True)
    assert "Ce changement est consigné dans un reçu signé" in page  # in the customer's language
    link, receipt_id = RECEIPT_LINK.search(page).groups()
    assert receipt_id == newest_receipt(session).public_id
    # The receipt was signed in French; read in Dutch, its channels speak Dutch, the download stays French.
    form_post(client, "/space/preferences", {"locale": "nl", "next": "/space/preferences"}, action="/language")
    shown = client.get(link).get_data(as_text=True)
    assert '<th scope="row">Sms</th>' in shown and "Onze aanbiedingen per sms" in shown
    assert "Frans" in shown  # the language of the signed document, named in Dutch
    download = json.loads(client.get(link + ".json").get_data(as_text=True))
    assert download["document"]["language"] == "fr"

    # "Unsubscribe from everything": a GET asks, naming each channel, and changes nothing.
    ask = client.get("/space/preferences/stop-all").get_data(as_text=True)
    shown_codes = re.findall(r'name="channel" value="(\w+)"', ask)
    assert sorted(shown_codes) == ["email", "post"] and states(session, "lea@example.com")["email"] == "granted"
    before = newest_receipt(session).id
    done = form_post(client, "/space/preferences/stop-all", {"channel": shown_codes})
    page = client.get(done.location).get_data(as_text=True)
    after = newest_receipt(session)
    after_id = after.id
    assert after_id == before + 1  # one receipt for every channel
    assert f'href="/space/receipts/{after.public_id}"' in page
    assert {code: s for code, s in states(session, "lea@example.com").items() if code != "newsletter"} == {
        "email": "withdrawn", "sms": "withdrawn", "post": "withdrawn"}
    # The same confirmation again records nothing; a channel not shown is never withdrawn.
    again = form_post(client, "/space/preferences/stop-all", {"channel": shown_codes})
    assert newest_receipt(session).id == after_id and again.status_code == 302
    assert 'name="channel"' not in client.get("/space/preferences/stop-all").get_data(as_text=True)


def test_the_unsubscribe_page_offers_its_receipt_and_asks_why_once(client, app, auth, make_account, session,
                                                                    subject):
    link = url(subject)
    one_click = client.post(link, data={"List-Unsubscribe": "One-Click"}).get_data(as_text=True)
    assert "/receipt/" not in one_click and 'name="reason"' not in one_click  # a mail server gets neither
    sms_link = url(subject, "sms")  # one link: a nonce is bound to its exact token, and a token made later differs
    page = client.post(sms_link, data={"action": "channel"}, headers=SAME_SITE).get_data(as_text=True)
    receipt_url = re.search(r'href="(/u/[^"]+/receipt/[^"]+)" download', page).group(1)
    assert "/space/receipts" not in receipt_url
    receipt = newest_receipt(session)
    download = client.get(receipt_url)
    assert download.status_code == 200 and download.headers["Referrer-Policy"] == "no-referrer"
    assert json.loads(download.get_data(as_text=True))["document"]["consentReceiptID"] == receipt.public_id
    # The nonce is bound to its link: another link of the same person, or a forged one, opens nothing.
    nonce = receipt_url.rsplit("/", 1)[1]
    for wrong in (f"{url(subject, 'post')}/receipt/{nonce}", f"{receipt_url[:-2]}xx"):
        assert "application/json" not in client.get(wrong).content_type  # the invalid-link page

    reason_nonce = re.search(r'name="nonce" value="([^"]+)">\s*<fieldset>', page).group(1)
    post = f"{sms_link}/reason"
    assert client.post(post, data={"nonce": reason_nonce, "reason": "everything"}, headers=SAME_SITE).status_code == 400
    assert client.post(post, data={"nonce": reason_nonce, "reason": "other"},
                       headers={"Sec-Fetch-Site": "cross-site"}).status_code == 403
    thanked = client.post(post, data={"nonce": reason_nonce, "reason": "other", "detail": "  Trop  de mails "},
                          headers=SAME_SITE).get_data(as_text=True)
    assert "Thank you for telling us." in thanked
    again = client.post(post, data={"nonce": reason_nonce, "reason": "too_many"}, headers=SAME_SITE)
    assert "already recorded" in again.get_data(as_text=True)
    assert client.post(f"{link}/reason", data={"nonce": reason_nonce, "reason": "too_many"},
                       headers=SAME_SITE).status_code == 404  # another link's page: refused as invalid
    session.rollback()
    kept = session.scalars(select(UnsubscribeReason)).all()
    assert [(r.reason, r.detail, r.receipt_id) for r in kept] == [("other", "Trop de mails", receipt.id)]

    make_account("audrey@example.com", role=Role.AUDITOR, locale="en")
    auth.login("audrey@example.com")
    audit = client.get("/audit/").get_data(as_text=True)
    assert re.search(r"<td[^>]*>Other</td><td[^>]*>1</td>", audit)


def test_a_manage_link_change_links_to_the_download_the_link_authorises(app, client, session, subject):
    other = create_subject(session, actor=Actor.system(), email="bob@example.com", locale="en", is_customer=True)
    session.commit()
    with app.test_request_context():
        page = manage_url(subject.public_id, "ann@example.com").split("localhost", 1)[-1]
    saved = form_post(client, page, {"active": ["email"]}, headers={"Accept-Language": "en"})
    shown = client.get(saved.location, headers={"Accept-Language": "en"}).get_data(as_text=True)
    href = re.search(r'signed receipt: <a href="([^"]+\.json)">', shown).group(1)
    assert href.startswith(page + "/receipts/")
    download = client.get(href)
    assert download.status_code == 200 and download.headers["Cache-Control"] == "no-store"
    assert json.loads(download.get_data(as_text=True))["document"]["piiPrincipalId"] == subject.public_id
    theirs = session.scalars(select(Receipt).where(Receipt.subject_id == other.id)).first()
    assert client.get(f"{page}/receipts/{theirs.public_id}.json").status_code == 404
    assert tokens  # the link's own token is the only key: a tampered one is the invalid-link page
    assert "application/json" not in client.get(href.replace(page, page[:-3] + "abc")).content_type
