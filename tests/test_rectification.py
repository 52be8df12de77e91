"""/space/profile: rectification at any hour; a new e-mail address only after its link."""
import re

from sqlalchemy import select

from consent_center.outbox.mail import compose
from consent_center.models import Account, OutboxMessage, Subject

from .conftest import form_post

PROFILE = {"name": "Camille Durand", "email": "camille@example.com", "phone": "06 12 34 56 78",
           "postal_address": "3 quai Voltaire, Paris", "locale": "nl"}


def test_name_phone_address_and_language_change_at_once_phone_in_e164(client, auth, customer, session):
    auth.login("camille@example.com")
    response = form_post(client, "/space/profile", {**PROFILE, "locale": "fr"})
    assert response.status_code == 302
    session.rollback()
    subject = session.scalars(select(Subject)).one()
    assert (subject.name, subject.phone, subject.postal_address, subject.locale) == (
        "Camille Durand", "+33612345678", "3 quai Voltaire, Paris", "fr")
    assert session.scalars(select(OutboxMessage)).first() is None  # no e-mail change, no e-mail


def test_a_bad_phone_number_is_refused_and_writes_nothing(client, auth, customer, session):
    auth.login("camille@example.com")
    assert form_post(client, "/space/profile", {**PROFILE, "phone": "12"}).status_code == 422
    session.rollback()
    assert session.scalars(select(Subject)).one().name == "Camille Martin"


def test_a_new_address_takes_effect_only_through_its_link_and_the_old_one_is_told(client, auth, customer, session):
    auth.login("camille@example.com")
    form_post(client, "/space/profile", {**PROFILE, "email": "camille.new@example.com"})
    session.rollback()
    assert session.scalars(select(Subject)).one().email == "camille@example.com"
    notice = session.scalars(select(OutboxMessage).where(OutboxMessage.topic == "email_change_notice")).one()
    assert notice.recipient == "camille@example.com"
    message = session.scalars(select(OutboxMessage).where(OutboxMessage.topic == "email_change")).one()
    assert message.recipient == "camille.new@example.com"
    text = compose(message).get_body(("plain",)).get_content()
    link = re.search(r"http://localhost(/space/email/confirm/\S+)", text).group(1)
    auth.logout()
    assert client.get(link).status_code == 200
    session.rollback()
    assert session.scalars(select(Subject)).one().email == "camille@example.com"  # a GET changes nothing
    assert form_post(client, link, {}).status_code == 200
    session.rollback()
    assert session.scalars(select(Subject)).one().email == "camille.new@example.com"
    assert session.scalars(select(Account)).one().email == "camille.new@example.com"
    assert client.get(link).status_code == 410  # used once
    auth.login("camille.new@example.com")
    assert client.get("/space/profile").status_code == 200
