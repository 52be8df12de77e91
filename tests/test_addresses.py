"""One address module: e-mail and phone normalisation, one region table."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from consent_center.models import Subject

from consent_center.addresses import AddressError, normalise_email, normalise_phone, phone_region
from consent_center.urls import external_url, unsubscribe_url

from .conftest import form_post


@pytest.mark.parametrize("locale, jurisdiction, region", [
    ("fr", "FR", "FR"), ("nl", "FR", "NL"), ("en", "FR", "FR"),
    ("fr", "BE", "BE"), ("nl", "BE", "BE"), ("en", "BE", "BE"),
    ("nl", "NL", "NL"), ("fr", "NL", "FR"), ("en", "NL", "NL"), (None, "be", "BE"),
])
def test_a_national_number_is_read_in_the_company_country_where_the_language_is_spoken(locale, jurisdiction, region):
    assert phone_region(locale, jurisdiction) == region


def test_a_belgian_mobile_is_accepted_for_a_belgian_customer():
    assert normalise_phone("0470 12 34 56", phone_region("fr", "BE")) == "+32470123456"
    assert normalise_phone("0470 12 34 56", phone_region("nl", "BE")) == "+32470123456"


def test_english_is_never_read_as_great_britain():
    # 0612345678 is a French mobile; read as GB it would not even be valid.
    assert normalise_phone("06 12 34 56 78", phone_region("en", "FR")) == "+33612345678"


def test_an_international_number_ignores_the_region():
    assert normalise_phone("+31 6 12345678", "FR") == "+31612345678"


@pytest.mark.parametrize("raw", ["", "12", "not a number", "+33 1"])
def test_bad_phone_numbers_are_refused(raw):
    with pytest.raises(AddressError):
        normalise_phone(raw, "FR")


def test_email_addresses_have_one_stored_form():
    assert normalise_email("  Camille@Example.COM ") == "camille@example.com"
    with pytest.raises(AddressError):
        normalise_email("camille@")


def test_the_fast_unsubscribe_url_is_the_routes_own(app):
    with app.app_context():
        url = unsubscribe_url("0f8fad5b-d9cb-469f-a165-70867728950e", "email")
        token = url.rsplit("/", 1)[1]
        assert url == external_url("unsubscribe.page", token=token)


def test_rectification_reads_a_belgian_number_in_a_belgian_company(app, client, auth, customer, session):
    app.config["JURISDICTION"] = "BE"
    auth.login("camille@example.com")
    profile = {"name": "Camille Martin", "email": "camille@example.com", "phone": "0470 12 34 56",
               "postal_address": "", "locale": "fr"}
    assert form_post(client, "/space/profile", profile).status_code == 302
    session.rollback()
    assert session.scalars(select(Subject)).one().phone == "+32470123456"


def test_a_crm_reads_the_company_country_and_an_explicit_country_wins(app, api, session):
    app.config["JURISDICTION"] = "BE"
    created = api.post("/subjects", json={"email": "lotte@example.com", "phone": "0470 12 34 56",
                                                 "locale": "nl"})
    assert created.status_code == 201, created.get_json()
    assert created.get_json()["phone"] == "+32470123456"
    explicit = api.post("/subjects", json={"email": "jan@example.com", "phone": "06 12345678",
                                                  "locale": "nl", "country": "NL"})
    assert explicit.get_json()["phone"] == "+31612345678"
