"""A channel that passes contact details to partners: off by default for everyone, on only by explicit consent.

The rule stands in three places, each proved here: the channel's default
(``Channel.default_for``), the channel service (``policies.channels``) and
the ledger (``ledger.partners``, for the single and the bulk write path).
Then every path that may grant a channel by default or by basis is walked:
a new subject, a customer account, the CRM API's POST and PATCH (the
customer status), the import (command line), the newsletter's double
opt-in, staff on a customer's behalf, the customer's own switch.
"""
from __future__ import annotations

import csv

import pytest
from sqlalchemy import func, select

from consent_center.accounts.service import create_account
from consent_center.ledger import Actor, LedgerError, SharingWithoutConsent, current_states, record_change
from consent_center.ledger.bulk import Submission, record_many
from consent_center.models import Channel, ConsentEvent, Receipt, Role, Source, Subject
from consent_center.policies.channels import ChannelError, create_channel, set_partners
from consent_center.policies.service import publish_policy
from consent_center.subjects.service import create_subject

from .conftest import form_post
from .ledger_consistency import assert_ledger_consistent
from .mail_fixtures import deliver
from .test_signup import confirm, sign_up

PARTNERS = {"fr": ["Cuisines Arvelle (cuisines sur mesure)", "Jardins Verdelune (jardinage)"],
            "nl": ["Cuisines Arvelle (keukens op maat)", "Jardins Verdelune (tuinieren)"],
            "en": ["Cuisines Arvelle (fitted kitchens)", "Jardins Verdelune (gardening)"]}
NAMES = {"fr": "Offres de nos partenaires", "nl": "Aanbiedingen van onze partners", "en": "Offers from our partners"}
WEAKER = ["soft_opt_in", "legitimate_interest"]


def partners_channel(session, **over) -> Channel:
    """The partners purpose, added as an admin adds it: off until the person consents."""
    fields = dict(code="partners", names=NAMES, purposes={"en": "Offers from companies we chose."},
                  default_status="never_asked", default_basis="consent", validity_months=None,
                  shares_with_partners=True, partners=PARTNERS)
    return create_channel(session, **(fields | over))


def partners_state(session, subject) -> tuple[str, str] | None:
    channel = session.scalars(select(Channel).where(Channel.code == "partners")).one()
    state = current_states(session, subject).get(channel.id)
    return (state.status, state.basis) if state else None


def event_count(session) -> int:
    return session.scalar(select(func.count()).select_from(ConsentEvent))


@pytest.fixture
def partners(session):
    channel = partners_channel(session)
    session.commit()
    return channel


# --- The default ---------------------------------------------------------------------------

@pytest.mark.parametrize("basis", WEAKER)
def test_a_channel_that_shares_starts_off_for_everyone_whatever_its_stored_default_says(basis):
    channel = Channel(code="partners", default_status="granted", default_basis=basis, shares_with_partners=True)
    assert channel.default_for(True) == ("never_asked", "consent")
    assert channel.default_for(False) == ("never_asked", "consent")
    assert Channel(code="sms", default_status="granted", default_basis=basis).default_for(True) == ("granted", basis)


def test_partners_are_read_in_the_persons_language_and_english_otherwise():
    channel = Channel(code="partners", shares_with_partners=True, partners={"en": ["Lumio Energy"], "fr": ["Lumio"]})
    assert channel.partners_in("fr") == ["Lumio"]
    assert channel.partners_in("nl") == ["Lumio Energy"]


# --- The channel service ---------------------------------------------------------------------

@pytest.mark.parametrize(("status", "basis"), [("granted", "soft_opt_in"), ("granted", "legitimate_interest"),
                                               ("never_asked", "soft_opt_in"),
                                               ("never_asked", "legitimate_interest")])
def test_the_service_refuses_a_default_grant_or_a_weaker_basis_on_a_channel_that_shares(session, status, basis):
    with pytest.raises(ChannelError) as refused:
        partners_channel(session, default_status=status, default_basis=basis)
    assert str(refused.value) == "partners_default"
    assert session.scalars(select(Channel).where(Channel.code == "partners")).first() is None


def test_the_service_wants_partners_named_in_every_language_and_only_on_a_channel_that_shares(session):
    with pytest.raises(ChannelError) as missing:
        partners_channel(session, partners={"fr": ["Lumio"], "nl": [" ", ""], "en": ["Lumio"]})
    assert (str(missing.value), missing.value.locale) == ("partners_missing", "nl")
    with pytest.raises(ChannelError) as unshared:
        partners_channel(session, shares_with_partners=False)
    assert str(unshared.value) == "partners_not_shared"
    with pytest.raises(ChannelError) as long_name:
        partners_channel(session, partners=PARTNERS | {"en": ["x" * 101]})
    assert (str(long_name.value), long_name.value.locale) == ("partner_name", "en")
    with pytest.raises(ChannelError) as many:
        partners_channel(session, partners=PARTNERS | {"fr": [f"Partenaire {n}" for n in range(21)]})
    assert str(many.value) == "partners_many"
    channel = partners_channel(session, partners=PARTNERS | {"en": ["  Lumio   Energy ", "", "Lumio Energy"]})
    assert channel.partners["en"] == ["Lumio Energy"] and channel.shares_with_partners


def test_partners_may_leave_a_channel_made_to_share_and_none_may_join(session, partners):
    kitchens = PARTNERS | {"en": ["Cuisines Arvelle (fitted kitchens)"]}
    assert set_partners(session, partners, kitchens) is True
    assert set_partners(session, partners, kitchens) is False
    assert partners.partners["en"] == ["Cuisines Arvelle (fitted kitchens)"]
    # A consent named the partners of its day: a newcomer would get details no one agreed to give it.
    with pytest.raises(ChannelError, match="partners_added") as added:
        set_partners(session, partners, PARTNERS)
    assert added.value.locale == "en" and partners.partners["en"] == ["Cuisines Arvelle (fitted kitchens)"]
    with pytest.raises(ChannelError) as missing:
        set_partners(session, partners, PARTNERS | {"fr": []})
    assert missing.value.locale == "fr" and partners.partners["fr"] == PARTNERS["fr"]
    sms = session.scalars(select(Channel).where(Channel.code == "sms")).one()
    with pytest.raises(ChannelError, match="partners_not_shared"):
        set_partners(session, sms, PARTNERS)
    assert not sms.shares_with_partners and sms.partners == {}


# --- The ledger --------------------------------------------------------------------------------

@pytest.mark.parametrize("basis", WEAKER)
def test_the_ledger_refuses_a_grant_on_a_weaker_basis_and_writes_nothing(session, partners, basis):
    subject = create_subject(session, actor=Actor.system(), email="lea@example.com", is_customer=True)
    session.commit()
    before = event_count(session)
    with pytest.raises(SharingWithoutConsent) as refused:
        record_change(session, subject, {"partners": "granted", "newsletter": "granted"},
                      basis={"partners": basis}, source=Source.IMPORT, actor=Actor.system())
    assert isinstance(refused.value, LedgerError) and refused.value.code == "partners"
    session.rollback()
    assert event_count(session) == before and partners_state(session, subject) == ("never_asked", "consent")
    recorded = record_change(session, subject, {"partners": "granted"}, basis={"partners": "consent"},
                             source=Source.CUSTOMER_SPACE, actor=Actor.system())
    assert [(e.status, e.basis) for e in recorded.events] == [("granted", "consent")]
    session.commit()
    assert_ledger_consistent(session)


def test_the_bulk_path_refuses_it_too_and_goes_on_with_the_other_submissions(session, partners):
    lea = create_subject(session, actor=Actor.system(), email="lea@example.com", is_customer=True)
    noor = create_subject(session, actor=Actor.system(), email="noor@example.com", is_customer=True)
    submissions = [Submission(lea, {"partners": "granted"}, Source.IMPORT, Actor.system(),
                              basis={"partners": "soft_opt_in"}),
                   Submission(noor, {"partners": "granted"}, Source.IMPORT, Actor.system())]
    refusals = []
    done = record_many(session, submissions, refused=lambda s, error: refusals.append((s.subject, error)))
    assert done.submissions == 1 and [(s, type(e)) for s, e in refusals] == [(lea, SharingWithoutConsent)]
    assert partners_state(session, lea) == ("never_asked", "consent")
    assert partners_state(session, noor) == ("granted", "consent")
    with pytest.raises(SharingWithoutConsent):
        record_many(session, [Submission(noor, {"partners": "granted"}, Source.IMPORT, Actor.system(),
                                         basis={"partners": "legitimate_interest"}),
                              Submission(lea, {"partners": "granted"}, Source.IMPORT, Actor.system(),
                                         basis={"partners": "legitimate_interest"})])


def test_a_stored_default_changed_behind_the_service_still_starts_customers_off(session, partners):
    partners.default_status, partners.default_basis = "granted", "soft_opt_in"  # as raw SQL could
    session.commit()
    subject = create_subject(session, actor=Actor.system(), email="lea@example.com", is_customer=True)
    session.commit()
    assert partners_state(session, subject) == ("never_asked", "consent")
    assert current_states(session, subject)  # the other channels started as they do


# --- Every path that grants by default or by basis ------------------------------------------------

def test_rule_partners_only_with_explicit_consent(session, partners):
    customer = create_subject(session, actor=Actor.system(), email="lea@example.com", is_customer=True)
    prospect = create_subject(session, actor=Actor.system(), email="noor@example.com")
    # A customer account for the prospect turns it into a customer: soft opt-in channels stay as they were.
    create_account(session, email="noor@example.com", password="correct horse battery", role=Role.CUSTOMER,
                   actor=Actor.system())
    session.commit()
    assert prospect.is_customer
    assert partners_state(session, customer) == partners_state(session, prospect) == ("never_asked", "consent")
    email = session.scalars(select(Channel).where(Channel.code == "email")).one()
    assert current_states(session, customer)[email.id].basis == "soft_opt_in"  # the soft opt-in still works


def test_the_crm_api_creates_and_makes_a_customer_without_turning_partners_on(api, session, partners):
    created = api.post("/subjects", json={"email": "lea@example.com", "is_customer": True, "locale": "nl"})
    assert created.status_code == 201, created.get_json()
    public_id = created.get_json()["id"]
    prospect = api.post("/subjects", json={"email": "noor@example.com", "is_customer": False}).get_json()["id"]
    assert api.patch(f"/subjects/{prospect}", json={"is_customer": True}).status_code == 200
    for subject_id in (public_id, prospect):
        consents = {c["channel"]: c for c in api.get(f"/subjects/{subject_id}/consents").get_json()["consents"]}
        assert (consents["partners"]["status"], consents["partners"]["allowed"]) == ("never_asked", False)
        check = api.get(f"/check?channel=partners&subject={subject_id}").get_json()
        assert check["allowed"] is False and check["status"] == "never_asked"
    created_consents = api.get(f"/subjects/{public_id}/consents").get_json()["consents"]
    assert {c["channel"]: c["basis"] for c in created_consents}["email"] == "soft_opt_in"  # the opt-in still works


def test_a_tools_consent_through_the_api_is_an_explicit_consent(api, session, partners, make_subject):
    subject = make_subject(is_customer=True)
    response = api.post(f"/subjects/{subject.public_id}/consents",
                        json={"channel": "partners", "status": "granted", "source": "api",
                              "evidence": {"reference": "contest-form", "note": "partners box ticked"}})
    assert response.status_code == 201
    assert [(e["status"], e["basis"]) for e in response.get_json()["events"]] == [("granted", "consent")]
    assert api.get(f"/check?channel=partners&subject={subject.public_id}").get_json()["allowed"] is True


def _import_file(path, basis):
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["external_ref", "email", "locale", "customer", "consent_partners", "consent_newsletter",
                         "basis", "evidence"])
        writer.writerow(["CRM-1", "lea@example.com", "fr", "yes", "granted", "granted", basis, "shop form"])
        writer.writerow(["CRM-2", "noor@example.com", "nl", "yes", "", "", basis, "shop form"])
    return path


@pytest.mark.parametrize("basis", WEAKER)
def test_an_import_row_granting_partners_on_a_weaker_basis_is_refused_whole(runner, session, tmp_path, partners,
                                                                            basis):
    result = runner.invoke(args=["import", "contacts", str(_import_file(tmp_path / "c.csv", basis))])
    assert result.exit_code == 0, result.output
    assert f"partners passes contact details to partners: only an explicit consent (basis consent) turns it on, " \
           f"not {basis}; not imported" in result.output
    session.rollback()
    assert session.scalars(select(Subject.external_ref)).all() == ["CRM-2"]
    noor = session.scalars(select(Subject)).one()
    assert partners_state(session, noor) == ("never_asked", "consent")


def test_an_import_row_with_explicit_consent_grants_partners(runner, session, tmp_path, partners):
    result = runner.invoke(args=["import", "contacts", str(_import_file(tmp_path / "c.csv", "consent"))])
    assert result.exit_code == 0 and "2 new" in result.output, result.output
    session.rollback()
    lea = session.scalars(select(Subject).where(Subject.external_ref == "CRM-1")).one()
    assert partners_state(session, lea) == ("granted", "consent")
    assert_ledger_consistent(session)


def test_the_newsletters_double_opt_in_grants_the_newsletter_alone(client, session, runner, mailbox, partners):
    publish_policy(session, "2026-01", {"fr": "Politique.", "nl": "Beleid.", "en": "Policy."})
    session.commit()
    sign_up(client, policy="2026-01")
    deliver(runner)
    assert confirm(client, mailbox.only("zoe@example.com").link()).status_code == 200
    session.rollback()
    subject = session.scalars(select(Subject).where(Subject.email == "zoe@example.com")).one()
    assert partners_state(session, subject) == ("never_asked", "consent")


def test_staff_record_a_consent_the_customer_gave_them_as_consent(client, auth, session, partners, make_account):
    customer = make_account("camille@example.com", locale="en")
    make_account("sam@example.com", role=Role.SUPPORT, locale="en")
    auth.login("sam@example.com")
    page = f"/admin/people/{customer.subject.public_id}"
    response = form_post(client, page, {"active": ["email", "sms", "post"], "method": "phone",
                                        "evidence": "Called, ticket 12"})
    assert response.status_code == 302
    session.rollback()
    assert partners_state(session, customer.subject) == ("never_asked", "consent")
    form_post(client, page, {"active": ["email", "sms", "post", "partners"], "method": "paper_form",
                             "evidence": "Signed the partners box"})
    session.rollback()
    assert partners_state(session, customer.subject) == ("granted", "consent")
    receipt = session.scalars(select(Receipt).order_by(Receipt.id.desc())).first()
    assert receipt is not None and "Jardins Verdelune (gardening)" in receipt.document
