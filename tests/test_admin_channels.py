"""Admins add and deactivate channels; consent is never a default."""
import re

import pytest
from sqlalchemy import select

from consent_center.ledger import Actor, record_change
from consent_center.models import Channel, ConsentEvent, Role, Source, StaffAction

from .conftest import form_post

PHONE = {"code": "phone_calls", "name_fr": "Appels téléphoniques", "name_nl": "Telefoongesprekken",
         "name_en": "Phone calls", "purpose_en": "Only with your explicit consent.",
         "default": "never_asked:consent", "validity_months": "24", "medium": "phone"}


@pytest.fixture
def admin(make_account, auth):
    account = make_account("ada@example.com", role=Role.ADMIN, locale="en")
    auth.login("ada@example.com")
    return account


def test_an_admin_adds_a_channel_that_customers_then_see(client, auth, session, admin, customer):
    response = form_post(client, "/admin/channels", PHONE)
    assert response.status_code == 302
    session.rollback()
    channel = session.scalars(select(Channel).where(Channel.code == "phone_calls")).one()
    assert channel.names["nl"] == "Telefoongesprekken" and channel.validity_months == 24
    assert channel.default_for(True) == ("never_asked", "consent")
    assert channel.medium == "phone"
    assert session.scalars(select(StaffAction)).one().action == "channel.created"
    auth.logout()
    auth.login(customer.email)
    assert "Phone calls" in client.get("/space/preferences").get_data(as_text=True)


def test_consent_is_never_a_default_and_the_form_is_kept(client, session, admin):
    response = form_post(client, "/admin/channels", PHONE | {"default": "granted:consent"})
    assert response.status_code == 400
    response = form_post(client, "/admin/channels", PHONE | {"code": "fax", "medium": "fax"})
    assert response.status_code == 400
    response = form_post(client, "/admin/channels", PHONE | {"code": "email"})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "A channel already has this code." in html and "Telefoongesprekken" in html
    session.rollback()
    assert session.scalars(select(Channel).where(Channel.code == "phone_calls")).first() is None


def test_rule_consent_is_never_on_by_default(client, auth, session, admin, make_account):
    """GDPR art. 4(11) and 7, CJEU Planet49: no channel can start granted on consent, and a new customer
    finds every consent channel switched off, however it was added."""
    assert form_post(client, "/admin/channels", PHONE | {"default": "granted:consent"}).status_code == 400
    session.rollback()
    assert session.scalars(select(Channel).where(Channel.code == "phone_calls")).first() is None
    assert form_post(client, "/admin/channels", PHONE).status_code == 302
    auth.logout()
    make_account("new.customer@example.com", locale="en")
    auth.login("new.customer@example.com")
    html = client.get("/space/preferences").get_data(as_text=True).replace("\n", " ")
    switches = {code: re.search(rf'<input[^>]*name="active" value="{code}"[^>]*>', html).group(0)
                for code in ("email", "newsletter", "phone_calls")}
    assert "checked" in switches["email"]  # the soft opt-in of a customer, not a consent
    assert "checked" not in switches["newsletter"] and "checked" not in switches["phone_calls"]


@pytest.mark.parametrize("medium", ["email", "sms"])
def test_rule_email_and_sms_never_start_on_legitimate_interest(client, session, admin, medium):
    """ePrivacy art. 13 (CPCE L34-5, WER XII.13, Telecommunicatiewet 11.7): e-mail and SMS to individuals
    need consent or the soft opt-in; post and calls may rest on legitimate interest."""
    refused = form_post(client, "/admin/channels", PHONE | {"code": "promo", "medium": medium,
                                                            "default": "granted:legitimate_interest"})
    assert refused.status_code == 400 and "ePrivacy" in refused.get_data(as_text=True)
    session.rollback()
    assert session.scalars(select(Channel).where(Channel.code == "promo")).first() is None
    assert form_post(client, "/admin/channels", PHONE | {"default": "granted:legitimate_interest"}).status_code == 302


def test_a_deactivated_channel_leaves_the_preferences_and_keeps_its_history(
        client, auth, session, admin, customer):
    record_change(session, customer.subject, {"newsletter": "granted"}, source=Source.CUSTOMER_SPACE,
                  actor=Actor.system())
    session.commit()
    response = form_post(client, "/admin/channels", {}, action="/admin/channels/newsletter/deactivate")
    assert response.status_code == 302
    session.rollback()
    channel = session.scalars(select(Channel).where(Channel.code == "newsletter")).one()
    assert not channel.active
    assert session.scalars(select(ConsentEvent).where(ConsentEvent.channel_id == channel.id)).first()
    auth.logout()
    auth.login(customer.email)
    assert "ch-newsletter" not in client.get("/space/preferences").get_data(as_text=True)


def test_each_channel_says_what_kind_of_address_it_uses(session):
    """The first channels get their medium from the migration; an SMS stop or a mail complaint relies on it."""
    media = dict(session.execute(select(Channel.code, Channel.medium)).all())
    assert media == {"email": "email", "sms": "sms", "post": "post", "newsletter": "email"}
