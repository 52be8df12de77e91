"""The partners purpose where people meet it: /admin/channels, the customer's pages, the receipt, the demo."""
from __future__ import annotations

import html
import json
from datetime import datetime, timezone

import pytest
from freezegun import freeze_time
from sqlalchemy import select

from consent_center.cli.demo import DEMO_ACCOUNTS, DEMO_PASSWORD
from consent_center.ledger import Actor, current_states, record_change
from consent_center.models import Channel, Receipt, Role, Source, StaffAction, Subject
from consent_center.policies.service import publish_policy
from consent_center.subjects.service import create_subject
from consent_center.urls import manage_url, unsubscribe_url

from .conftest import csrf_from, form_post
from .test_admin_channels import PHONE
from .test_partners import PARTNERS, partners_channel, partners_state

SHARING = PHONE | {"code": "partners", "name_en": "Offers from our partners", "shares_with_partners": "y",
                   "medium": "email", "partners_fr": "Cuisines Arvelle\r\nJardins Verdelune",
                   "partners_nl": "Cuisines Arvelle\nJardins Verdelune", "partners_en": "Cuisines Arvelle, Ltd\n"}
LEAD_IN = {"fr": "Nous ne transmettons vos coordonnées à ces partenaires qu'avec votre accord",
           "nl": "Wij geven uw contactgegevens alleen met uw toestemming door aan deze partners",
           "en": "We pass your contact details to these partners only with your consent"}


def text_of(response) -> str:
    return html.unescape(response.get_data(as_text=True))


@pytest.fixture
def admin(make_account, auth):
    account = make_account("ada@example.com", role=Role.ADMIN, locale="en")
    auth.login("ada@example.com")
    return account


@pytest.fixture
def partners(session):
    channel = partners_channel(session)
    session.commit()
    return channel


# --- /admin/channels ---------------------------------------------------------------------------

def test_an_admin_adds_a_partners_purpose_that_customers_then_read_with_its_partners(
        client, auth, session, admin, make_account):
    response = form_post(client, "/admin/channels", SHARING)
    assert response.status_code == 302
    session.rollback()
    channel = session.scalars(select(Channel).where(Channel.code == "partners")).one()
    assert channel.shares_with_partners and channel.default_for(True) == ("never_asked", "consent")
    assert channel.partners == {"fr": ["Cuisines Arvelle", "Jardins Verdelune"],
                                "nl": ["Cuisines Arvelle", "Jardins Verdelune"], "en": ["Cuisines Arvelle, Ltd"]}
    line = session.scalars(select(StaffAction)).one()
    assert line.action == "channel.created" and line.details["partners"] == channel.partners
    assert "Cuisines Arvelle, Ltd" in text_of(client.get("/admin/channels"))
    auth.logout()
    make_account("lea@example.com", locale="en")
    auth.login("lea@example.com")
    page = text_of(client.get("/space/preferences"))
    assert f"{LEAD_IN['en']}: Cuisines Arvelle, Ltd." in page
    session.rollback()
    lea = session.scalars(select(Subject).where(Subject.email == "lea@example.com")).one()
    assert lea.is_customer and partners_state(session, lea) == ("never_asked", "consent")


@pytest.mark.parametrize("default", ["granted:soft_opt_in", "granted:legitimate_interest"])
def test_a_partners_purpose_on_by_default_is_refused_with_the_form_kept(client, session, admin, default):
    response = form_post(client, "/admin/channels", SHARING | {"default": default})
    assert response.status_code == 400
    page = text_of(response)
    assert "A channel that passes contact details to partners starts off for everyone" in page
    assert "Jardins Verdelune" in page and 'value="partners"' in page and "checked" in page
    session.rollback()
    assert session.scalars(select(Channel).where(Channel.code == "partners")).first() is None


def test_partners_missing_in_a_language_or_named_without_sharing_are_refused_on_their_field(client, session, admin):
    response = form_post(client, "/admin/channels", SHARING | {"partners_nl": "  \n "})
    assert response.status_code == 400
    page = text_of(response)
    assert 'id="partners_nl-error"' in page and "Name at least one partner in this language" in page
    assert "Cuisines Arvelle, Ltd" in page
    unshared = {key: value for key, value in SHARING.items() if key != "shares_with_partners"}
    response = form_post(client, "/admin/channels", unshared)
    assert response.status_code == 400
    assert 'id="shares_with_partners-error"' in text_of(response)
    session.rollback()
    assert session.scalars(select(Channel).where(Channel.code == "partners")).first() is None


def _post_partners(client, code, **fields):
    token = csrf_from(client.get("/admin/channels").get_data(as_text=True))
    return client.post(f"/admin/channels/{code}/partners",
                       data={f"{code}-csrf_token": token} | {f"{code}-partners_{k}": v for k, v in fields.items()})


def test_an_admin_removes_a_partner_and_the_staff_log_keeps_before_and_after(client, session, admin, partners):
    page = text_of(client.get("/admin/channels"))
    assert "Partners of partners" in page and "Jardins Verdelune (tuinieren)" in page  # the stored names, to edit
    added = _post_partners(client, "partners", fr="Lumio Énergie", nl="Lumio Energie", en="Lumio Energy")
    assert added.status_code == 400 and "not added" in text_of(added)
    response = _post_partners(client, "partners", fr=PARTNERS["fr"][0], nl=PARTNERS["nl"][0], en=PARTNERS["en"][0])
    assert response.status_code == 302
    session.rollback()
    channel = session.scalars(select(Channel).where(Channel.code == "partners")).one()
    assert channel.partners == {locale: names[:1] for locale, names in PARTNERS.items()}
    line = session.scalars(select(StaffAction).where(StaffAction.action == "channel.partners_changed")).one()
    assert line.details == {"before": PARTNERS, "after": channel.partners}
    assert "Changed the partners a channel names" in text_of(client.get("/admin/log"))


def test_renaming_partners_with_a_language_left_empty_keeps_the_form_and_the_stored_names(
        client, session, admin, partners):
    response = _post_partners(client, "partners", fr="Lumio Énergie", nl="Lumio Energie", en="")
    assert response.status_code == 400
    page = text_of(response)
    assert 'id="partners-partners_en-error"' in page and "Lumio Energie" in page
    session.rollback()
    assert session.scalars(select(Channel).where(Channel.code == "partners")).one().partners == PARTNERS
    assert _post_partners(client, "sms", fr="Lumio", nl="Lumio", en="Lumio").status_code == 404
    assert session.scalars(select(Channel).where(Channel.code == "sms")).one().partners == {}


# --- What the customer reads ---------------------------------------------------------------------

@pytest.mark.parametrize("locale", ["fr", "nl", "en"])
def test_the_preferences_page_names_the_partners_in_the_customers_language(
        client, auth, session, partners, make_account, locale):
    make_account("lea@example.com", locale=locale)
    auth.login("lea@example.com")
    page = text_of(client.get("/space/preferences", headers={"Accept-Language": locale}))
    names = ", ".join(PARTNERS[locale])
    assert LEAD_IN[locale] in page and names in page
    others = {other for loc, listed in PARTNERS.items() if loc != locale for other in listed} - set(PARTNERS[locale])
    assert not any(other in page for other in others)


def test_the_manage_link_page_and_the_one_click_page_name_the_partners(client, session, partners):
    subject = create_subject(session, actor=Actor.system(), email="lena@example.com", locale="nl")
    session.commit()
    base = client.application.config["BASE_URL"]
    manage = manage_url(subject.public_id, subject.email).removeprefix(base)
    page = text_of(client.get(manage, headers={"Accept-Language": "nl"}))
    assert f"{LEAD_IN['nl']}: {', '.join(PARTNERS['nl'])}." in page
    one_click = unsubscribe_url(subject.public_id, "partners").removeprefix(base)
    page = text_of(client.get(one_click, headers={"Accept-Language": "nl"}))
    assert ", ".join(PARTNERS["nl"]) in page


def test_the_reconsent_page_names_the_partners(client, auth, session, partners, make_account):
    publish_policy(session, "v1", {"en": "Policy one"}, effective_at=datetime(2018, 11, 26, tzinfo=timezone.utc))
    session.commit()
    with freeze_time("2026-11-01 10:00:00"):
        account = make_account("lea@example.com", locale="en")
        record_change(session, account.subject, {"partners": "granted"}, source=Source.CUSTOMER_SPACE,
                      actor=Actor.system())
        session.commit()
    publish_policy(session, "v2", {"en": "Policy two"}, effective_at=datetime(2026, 12, 1, tzinfo=timezone.utc),
                   material=True)
    session.commit()
    with freeze_time("2026-12-02 12:00:00"):
        auth.login("lea@example.com")
        page = text_of(client.get("/space/reconsent", headers={"Accept-Language": "en"}))
    assert f"{LEAD_IN['en']}: {', '.join(PARTNERS['en'])}." in page


def test_switching_it_on_is_a_consent_whose_receipt_names_the_partners(client, auth, session, partners,
                                                                       make_account):
    account = make_account("lea@example.com", locale="fr")
    auth.login("lea@example.com")
    saved = form_post(client, "/space/preferences", {"active": ["email", "sms", "post", "partners"]})
    assert saved.status_code == 302
    session.rollback()
    assert partners_state(session, account.subject) == ("granted", "consent")
    receipt = session.scalars(select(Receipt).order_by(Receipt.id.desc())).first()
    (service,) = json.loads(receipt.document)["services"]
    assert service["purposes"][0]["thirdPartyDisclosure"] is True
    assert service["purposes"][0]["thirdPartyName"] == ", ".join(PARTNERS["fr"])
    page = text_of(client.get(f"/space/receipts/{receipt.public_id}", headers={"Accept-Language": "fr"}))
    assert f"Les partenaires que cette finalité nomme\u202f: {', '.join(PARTNERS['fr'])}." in page
    withdrawn = record_change(session, account.subject, {"newsletter": "granted"}, source=Source.CUSTOMER_SPACE,
                              actor=Actor.system()).receipt
    purpose = json.loads(withdrawn.document)["services"][0]["purposes"][0]
    assert purpose["thirdPartyDisclosure"] is False and "thirdPartyName" not in purpose


# --- The demo ----------------------------------------------------------------------------------------

def test_the_demo_company_has_a_partners_purpose_off_for_everyone(runner, session, client, auth):
    result = runner.invoke(args=["demo", "--subjects", "12"])
    assert result.exit_code == 0, result.output
    channel = session.scalars(select(Channel).where(Channel.code == "partners")).one()
    assert channel.shares_with_partners and channel.active
    assert (channel.default_status, channel.default_basis) == ("never_asked", "consent")
    assert {locale: 2 <= len(names) <= 3 for locale, names in channel.partners.items()} == dict.fromkeys(
        ("fr", "nl", "en"), True)
    subjects = session.scalars(select(Subject)).all()
    assert len(subjects) > 12
    states = [current_states(session, s).get(channel.id) for s in subjects]
    assert all(state is None or state.status != "granted" for state in states)
    assert any(state is not None and (state.status, state.basis) == ("never_asked", "consent") for state in states)
    french = ", ".join(channel.partners_in("fr"))
    session.rollback()
    auth.login(DEMO_ACCOUNTS[0][0], DEMO_PASSWORD)
    # Camille is asked to confirm her choices first (the demo's material policy change): partners named there too.
    page = text_of(client.get("/space/preferences", headers={"Accept-Language": "fr"}, follow_redirects=True))
    assert f"{LEAD_IN['fr']}\u202f: {french}." in page
    assert runner.invoke(args=["demo", "--subjects", "0"]).exit_code == 0  # again: one partners channel
    assert len(session.scalars(select(Channel).where(Channel.shares_with_partners.is_(True))).all()) == 1
