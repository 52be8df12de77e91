"""The consent check: one contact, a whole list, and as of a past moment."""
from datetime import datetime, timedelta, timezone

import pytest
from email_validator import EmailNotValidError, validate_email
from freezegun import freeze_time
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select, text

from consent_center.policies.channels import create_channel
from consent_center.check import bulk
from consent_center.check import service as checks
from consent_center.check.channels import channel_id
from consent_center.check import lookup_addresses
from consent_center.check.lookup_addresses import fast_normalise, normalise_all_for_lookup, normalise_for_lookup
from consent_center.db import TextArrayLiteral, text_array_literal
from consent_center.extensions import db
from consent_center.ledger import Actor, record_change
from consent_center.models import PolicyText, Source
from consent_center.policies.service import publish_policy
from consent_center.receipts.keys import keys_of_jwks
from consent_center.receipts.verification import verify_receipt
from consent_center.subjects.service import normalise_email

from .api_fixtures import assert_matches_spec, assert_problem, db_counts
from .conftest import form_post


def grant(session, subject, channel="email", status="granted"):
    recorded = record_change(session, subject, {channel: status}, source=Source.API, actor=Actor.system())
    session.commit()
    return recorded


def test_granted_contact_is_allowed_and_answer_names_the_basis(app, api, session, make_subject):
    subject = make_subject("lea@example.com")
    grant(session, subject, "newsletter")
    body = api.get("/check?channel=newsletter&email=Lea@Example.com").get_json()
    assert body["allowed"] is True
    assert body["status"] == "granted"
    assert body["basis"] == "consent"
    assert body["email"] == "lea@example.com"
    assert body["subject"] == subject.public_id
    assert body["changed_at"]
    assert_matches_spec(app, body, "CheckResult")


@pytest.mark.parametrize("status", ["withdrawn", "refused", "expired", "restricted"])
def test_every_status_but_granted_is_not_allowed(api, session, make_subject, status):
    subject = make_subject("lea@example.com")
    grant(session, subject, "newsletter", "granted")
    grant(session, subject, "newsletter", status)
    body = api.get("/check?channel=newsletter&email=lea@example.com").get_json()
    assert (body["allowed"], body["status"]) == (False, status)


def test_unknown_contact_is_never_allowed(api):
    response = api.get("/check?channel=email&email=nobody@example.com")
    assert response.status_code == 200
    assert response.get_json() == {
        "allowed": False, "channel": "email", "status": "unknown", "basis": None,
        "policy_version": None, "changed_at": None, "email": "nobody@example.com", "subject": None,
    }


def test_default_newsletter_is_never_asked_and_not_allowed(api, make_subject):
    make_subject("lea@example.com")
    body = api.get("/check?channel=newsletter&email=lea@example.com").get_json()
    assert (body["allowed"], body["status"]) == (False, "never_asked")


def test_rule_soft_opt_in_only_for_existing_customers(api):
    """ePrivacy art. 13(2): e-mail and SMS start active on the soft opt-in for a customer, never for a prospect."""
    for email, phone, is_customer in (("client@example.com", "+33612345678", True),
                                      ("prospect@example.com", "+33698765432", False)):
        created = api.post("/subjects", json={"email": email, "phone": phone, "is_customer": is_customer})
        assert created.status_code == 201
    for channel in ("email", "sms"):
        client = api.get(f"/check?channel={channel}&email=client@example.com").get_json()
        prospect = api.get(f"/check?channel={channel}&email=prospect@example.com").get_json()
        assert (client["allowed"], client["status"], client["basis"]) == (True, "granted", "soft_opt_in")
        assert (prospect["allowed"], prospect["status"], prospect["basis"]) == (False, "never_asked", "consent")


def test_check_by_subject_id(api, session, make_subject):
    subject = make_subject("lea@example.com")
    grant(session, subject, "sms")
    body = api.get(f"/check?channel=sms&subject={subject.public_id}").get_json()
    assert (body["allowed"], body["subject"]) == (True, subject.public_id)
    assert "email" not in body
    unknown = api.get("/check?channel=sms&subject=nope").get_json()
    assert (unknown["allowed"], unknown["status"], unknown["subject"]) == (False, "unknown", "nope")


def test_unknown_channel_is_a_422_naming_the_parameter(api):
    body = assert_problem(api.get("/check?channel=fax&email=a@example.com"), 422, "validation-error")
    assert body["errors"] == [{"parameter": "channel", "detail": "Unknown channel 'fax'."}]


@pytest.mark.parametrize("query", [
    "channel=email", "channel=email&email=a@example.com&subject=x", "email=a@example.com",
    "channel=email&email=not-an-address", "channel=email&subject=x&at=yesterday",
])
def test_bad_check_queries_are_422_problems(api, query):
    assert_problem(api.get(f"/check?{query}"), 422, "validation-error")


def test_at_answers_from_history_and_names_event_and_receipt(app, api, session, make_subject):
    with freeze_time("2026-03-01T09:00:00Z"):
        subject = make_subject("lea@example.com")
        granted = grant(session, subject, "newsletter")
    with freeze_time("2026-03-10T09:00:00Z"):
        grant(session, subject, "newsletter", "withdrawn")
    with freeze_time("2026-04-01T00:00:00Z"):
        then = api.get("/check?channel=newsletter&email=lea@example.com&at=2026-03-03T12:00:00Z").get_json()
        now = api.get("/check?channel=newsletter&email=lea@example.com").get_json()
        before = api.get(f"/check?channel=newsletter&subject={subject.public_id}&at=2026-02-01").get_json()
        first_day = api.get("/check?channel=newsletter&email=lea@example.com&at=2026-03-01T09:00:00").get_json()
    assert then["allowed"] is True and then["status"] == "granted"
    assert then["event"] == granted.events[0].public_id
    assert then["receipt"] == granted.receipt.public_id
    assert then["at"] == "2026-03-03T12:00:00+00:00"
    assert now["allowed"] is False and now["status"] == "withdrawn"
    assert (before["status"], before["allowed"], before["event"]) == ("unknown", False, None)
    assert (first_day["status"], first_day["allowed"]) == ("granted", True)  # same second counts
    for body in (then, before, first_day):
        assert_matches_spec(app, body, "CheckResult")


def test_rule_proof_of_consent_names_policy_version_and_receipt(app, api, client, auth, session, customer):
    """GDPR art. 7(1): a consent given in the space is shown, for its moment, with the policy version in
    force, its event and its signed receipt, which names that version and the hash of the text shown."""
    publish_policy(session, "2026-11", {"en": "Our privacy policy.", "fr": "Notre politique."})
    session.commit()
    auth.login(customer.email)
    given = form_post(client, "/space/preferences", {"active": ["email", "sms", "post", "newsletter"]})
    assert given.status_code == 302
    moment = datetime.now(timezone.utc).isoformat()
    proof = api.get("/check", query_string={"channel": "newsletter", "email": customer.email, "at": moment}).get_json()
    assert (proof["allowed"], proof["status"], proof["basis"]) == (True, "granted", "consent")
    assert proof["policy_version"] == "2026-11" and proof["event"] and proof["receipt"]
    download = api.get(f"/receipts/{proof['receipt']}").get_json()
    document = verify_receipt(download["jws"], keys_of_jwks(client.get("/.well-known/jwks.json").get_json())).document
    shown = session.scalars(select(PolicyText).where(PolicyText.locale == "en")).one()
    assert document["policyVersion"]["label"] == "2026-11"
    assert (document["policyVersion"]["textLocale"], document["policyVersion"]["textHash"]) == ("en", shown.sha256)
    (event,) = [e for e in document["events"] if e["id"] == proof["event"]]
    assert (event["status"], event["legalBasis"], event["source"]) == ("granted", "consent", "customer_space")


def test_at_between_creation_and_first_event_of_a_channel_is_never_asked(api, session, make_subject):
    with freeze_time("2026-03-01T09:00:00Z"):
        subject = make_subject("lea@example.com")
    body = api.get(f"/check?channel=newsletter&subject={subject.public_id}&at=2026-03-02T00:00:00Z").get_json()
    assert (body["status"], body["allowed"]) == ("never_asked", False)
    assert body["event"] is not None  # the default event says "never asked", with its receipt


def test_at_in_the_future_is_a_400(api):
    future = (datetime.now(timezone.utc) + timedelta(days=1)).isoformat()
    body = assert_problem(api.get("/check", query_string={"channel": "email", "email": "a@example.com",
                                                          "at": future}), 400, "future-moment")
    assert body["errors"][0]["parameter"] == "at"


def test_bulk_answers_in_input_order_with_duplicates_and_invalid_addresses(app, api, session, make_subject):
    lea = make_subject("lea@example.com")
    make_subject("tom@example.com")
    grant(session, lea, "newsletter")
    emails = ["tom@example.com", "LEA@example.com", "nobody@example.com", "not an address", "lea@example.com"]
    response = api.post("/check", json={"channel": "newsletter", "emails": emails})
    assert response.status_code == 200
    body = response.get_json()
    assert body["channel"] == "newsletter"
    results = body["results"]
    assert [r["status"] for r in results] == ["never_asked", "granted", "unknown", "unknown", "granted"]
    assert [r["allowed"] for r in results] == [False, True, False, False, True]
    assert results[3] == {"allowed": False, "channel": "newsletter", "status": "unknown", "basis": None,
                          "policy_version": None, "changed_at": None, "email": "not an address",
                          "subject": None, "invalid": True}
    assert results[1]["subject"] == lea.public_id
    assert_matches_spec(app, body, "BulkCheckResult")


@pytest.mark.parametrize("by", ["emails", "subjects"])
def test_each_bulk_answer_is_the_single_checks_answer(app, api, session, make_subject, by):
    """Bulk answers are written as text from templates, their times by the database: held
    here to the single check's, for a time at a whole second and not, a label JSON must
    escape, no policy version, a channel with no state, and unknown contacts."""
    with freeze_time("2026-03-01T09:00:00Z"):
        lea = make_subject("lea@example.com")
        grant(session, lea, "newsletter")  # no policy version in force yet
    label = 'v2 "\u00e9t\u00e9" \\ \u2028 \t'
    publish_policy(session, label, {"en": "Policy two"},
                   effective_at=datetime(2026, 3, 2, tzinfo=timezone.utc))
    session.commit()
    with freeze_time("2026-03-03T09:00:00.250001Z"):
        tom = make_subject("tom@example.com")
        grant(session, tom, "newsletter", "withdrawn")
    with freeze_time("2026-03-04T09:00:00.5Z"):
        ann = make_subject("zo\u00e9@exampl\u00e9.com")
        grant(session, ann, "newsletter")
    with freeze_time("2026-03-05T09:00:00Z"):
        create_channel(session, code="phone", names={"en": "Phone"}, purposes={"en": "Calls"},
                       default_status="never_asked", default_basis="consent", validity_months=None)
        session.commit()
    subjects = [lea, tom, ann]
    if by == "emails":
        asked = [s.email for s in subjects] + ["nobody@example.com", "Lea@Example.com"]
    else:
        asked = [s.public_id for s in subjects] + ["zz"]
    for channel in ("newsletter", "phone"):
        bulk = api.post("/check", json={"channel": channel, by: asked})
        assert bulk.status_code == 200
        single = [api.get("/check", query_string={"channel": channel, by[:-1]: one}).get_json() for one in asked]
        assert bulk.get_json() == {"channel": channel, "results": single}
        assert_matches_spec(app, bulk.get_json(), "BulkCheckResult")
    times = [answer["changed_at"] for answer in single[:3]]
    assert times == [None] * 3  # on the new channel
    newsletter = api.post("/check", json={"channel": "newsletter", by: asked}).get_json()["results"]
    assert [a["changed_at"] for a in newsletter[:3]] == [
        "2026-03-01T09:00:00+00:00", "2026-03-03T09:00:00.250001+00:00", "2026-03-04T09:00:00.500000+00:00"]
    assert [a["policy_version"] for a in newsletter[:3]] == [None, label.strip(), label.strip()]


@pytest.mark.parametrize("by", ["emails", "subjects"])
def test_bulk_allowed_answer_is_the_allowed_of_the_full_answer(app, api, session, make_subject, by):
    lea, tom, ann = (make_subject(f"{n}@example.com") for n in ("lea", "tom", "ann"))
    grant(session, lea, "newsletter")
    grant(session, tom, "newsletter")
    grant(session, tom, "newsletter", "withdrawn")
    grant(session, ann, "newsletter", "restricted")
    if by == "emails":
        asked = ["tom@example.com", "LEA@example.com", "nobody@example.com", "not an address",
                 "lea@example.com", " Lea@Example.com ", "ann@example.com"]
    else:
        asked = [tom.public_id, lea.public_id, "zz", lea.public_id, ann.public_id]
    full = api.post("/check", json={"channel": "newsletter", by: asked}).get_json()
    compact = api.post("/check", json={"channel": "newsletter", by: asked, "answer": "allowed"})
    assert compact.status_code == 200
    body = compact.get_json()
    assert body == {"channel": "newsletter", "allowed": [r["allowed"] for r in full["results"]]}
    assert True in body["allowed"] and False in body["allowed"]
    assert_matches_spec(app, body, "BulkCheckResult")


def test_a_lone_surrogate_in_a_bulk_body_is_a_400_and_a_pair_is_text(api):
    body = '{"channel": "email", "emails": ["a@example.com", "\\ud800@example.com"]}'
    response = api.client.post("/api/v1/check", data=body,
                               headers={"Authorization": f"Bearer {api.key}", "Content-Type": "application/json"})
    assert "surrogate" in assert_problem(response, 400, "malformed-request")["detail"]
    paired = '{"channel": "email", "emails": ["\\ud83d\\ude00@example.com", "\\\\ud800@example.com"]}'
    response = api.client.post("/api/v1/check", data=paired,
                               headers={"Authorization": f"Bearer {api.key}", "Content-Type": "application/json"})
    assert response.status_code == 200
    assert [r["email"] for r in response.get_json()["results"]] == ["\U0001f600@example.com", "\\ud800@example.com"]


def test_bulk_answer_must_be_full_or_allowed(api):
    response = api.post("/check", json={"channel": "email", "emails": ["a@example.com"], "answer": "yes"})
    assert_problem(response, 422)


def test_bulk_by_subject_ids(api, session, make_subject):
    lea = make_subject("lea@example.com")
    grant(session, lea, "sms")
    results = api.post("/check", json={"channel": "sms", "subjects": ["zz", lea.public_id]}).get_json()["results"]
    assert [(r["subject"], r["allowed"]) for r in results] == [("zz", False), (lea.public_id, True)]


@pytest.mark.parametrize("answer", ["full", "allowed"])
def test_bulk_statements_are_never_prepared(app, session, answer):
    """A prepared statement PostgreSQL planned generically, for a handful of keys,
    made the bulk check of 100,000 addresses twice as slow after ten calls."""
    if session.get_bind().dialect.name != "postgresql":
        pytest.skip("psycopg prepares statements; SQLite has no plans to reuse")
    with db.read_engine.connect() as connection:
        channel_pk = channel_id(connection, "email")
        for _ in range(12):
            if answer == "full":
                checks.check_many_json(connection, "email", channel_pk, "email", ["a@example.com"])
            else:
                checks.allowed_many(connection, channel_pk, "email", ["a@example.com"])
        prepared = connection.exec_driver_sql("SELECT statement FROM pg_prepared_statements").scalars().all()
        connection.exec_driver_sql("DEALLOCATE ALL")
    assert not [statement for statement in prepared if "ANY" in statement], prepared


# Characters PostgreSQL's array literal gives a meaning to, and others.
TRICKY_KEYS = ['a"b', "a\\b", '\\"', '"', "\\", "a,b", "{x}", " spaced ", "NULL", "", "é€😀", "it's"]


def test_bulk_keys_reach_the_database_as_they_were_sent(session):
    if session.get_bind().dialect.name != "postgresql":
        pytest.skip("the text[] literal is PostgreSQL's; SQLite binds the keys as one JSON array")
    for keys in (TRICKY_KEYS, ["plain", "keys"], []):
        literal = text_array_literal(keys)
        assert session.execute(text("SELECT CAST(:keys AS text[])"), {"keys": literal}).scalar_one() == keys


@pytest.mark.parametrize("by", ["email", "subject", "phone"])
def test_postgresql_plans_the_bulk_keys_as_a_constant(session, by):
    """A constant array is hashed for ``= ANY``; keys that reach the plan as an expression
    (a cast from text, say) are parsed and searched again for every row: hours for 100,000."""
    if session.get_bind().dialect.name != "postgresql":
        pytest.skip("SQLite binds the keys as one JSON array")
    connection = session.connection()
    statement = bulk.bulk_statement("any", by, False, (), erased=by != "subject").compile(dialect=connection.dialect)
    params = statement.construct_params({"keys": ["a@example.com", "b@example.com"], "channel_id": 1, "cutoff": None,
                                      "expired_by": None, "alive_from": None, "digests": []})
    for name in {"keys", "digests"} & params.keys():
        params[name] = TextArrayLiteral().bind_processor(connection.dialect)(params[name])
    plan = "\n".join(row[0] for row in connection.exec_driver_sql(f"EXPLAIN {statement}", params))
    assert "= ANY ('{a@example.com,b@example.com}'::text[])" in plan, plan


@pytest.mark.parametrize("answer", ["full", "allowed"])
def test_bulk_by_subject_ids_with_tricky_characters(api, session, make_subject, answer):
    lea = make_subject("lea@example.com")
    grant(session, lea, "sms")
    asked = [*TRICKY_KEYS, lea.public_id, '"' + lea.public_id + '"']
    body = api.post("/check", json={"channel": "sms", "subjects": asked, "answer": answer}).get_json()
    expected = [False] * len(TRICKY_KEYS) + [True, False]
    if answer == "allowed":
        assert body["allowed"] == expected
    else:
        assert [(r["subject"], r["allowed"]) for r in body["results"]] == list(zip(asked, expected))


@pytest.mark.settings(API_BULK_LIMIT=3)
def test_bulk_over_the_configured_count_is_a_413(api, session):
    before = db_counts(session)
    response = api.post("/check", json={"channel": "email", "emails": ["a@example.com"] * 4})
    assert "at most 3" in assert_problem(response, 413, "too-large")["detail"]
    assert api.post("/check", json={"channel": "email", "emails": ["a@example.com"] * 3}).status_code == 200
    assert db_counts(session) == before


@pytest.mark.settings(API_MAX_BODY=2000)
def test_bulk_body_over_the_configured_size_is_a_413(api):
    response = api.post("/check", json={"channel": "email", "emails": ["someone@example.com"] * 200})
    assert_problem(response, 413, "too-large")


def test_bulk_of_100_000_addresses_answers_all_of_them_in_order(api, session, make_subject):
    lea = make_subject("lea@example.com")
    grant(session, lea, "email")
    emails = [f"person{i}@example.com" for i in range(99_999)] + ["lea@example.com"]
    response = api.post("/check", json={"channel": "email", "emails": emails})
    assert response.status_code == 200
    results = response.get_json()["results"]
    assert len(results) == 100_000
    assert results[0]["email"] == "person0@example.com" and results[0]["status"] == "unknown"
    assert results[-1]["allowed"] is True


@pytest.mark.parametrize("body", [
    {"channel": "email"}, {"channel": "email", "emails": "a@example.com"},
    {"channel": "email", "emails": [1, 2]}, {"channel": "email", "emails": [], "subjects": []},
    {"channel": 5, "emails": []}, {"channel": "fax", "emails": []}, {"channel": "email", "emails": [], "x": 1},
])
def test_bulk_with_wrong_types_is_a_422(api, body):
    body = assert_problem(api.post("/check", json=body), 422, "validation-error")
    assert body["errors"] and all("pointer" in e for e in body["errors"])


def test_bulk_error_points_at_the_item(api):
    body = assert_problem(api.post("/check", json={"channel": "email", "emails": ["a@example.com", 7]}), 422)
    assert body["errors"] == [{"pointer": "/emails/1", "detail": "Not a valid string."}]


def _slow(address: str) -> str | None:
    try:
        return normalise_email(address)
    except Exception:
        return None


ATEXT = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+/=?^_`{|}~-."
addresses = st.builds(
    lambda local, domain, tld, pad: f"{pad}{local}@{domain}.{tld}{pad}",
    st.text(ATEXT + "é\"(", min_size=1, max_size=70),
    st.from_regex(r"[A-Za-z0-9][A-Za-z0-9.-]{0,20}", fullmatch=True),
    st.sampled_from(["com", "FR", "be", "nl", "test", "x1", "1a", "xn--p1ai", "localhost", "c"]),
    st.sampled_from(["", " ", "\t"]),
)


@settings(max_examples=400, deadline=None)
@given(addresses)
def test_fast_normalisation_agrees_with_email_validator(address):
    fast = fast_normalise(address)
    if fast is not None:
        assert _slow(address) == fast


# Lists mostly in stored form, as tools send them, so that the whole-list match
# is tried on lists it takes and on lists with one address it must refuse.
stored_addresses = st.builds(
    lambda local, labels, tld: f"{local}@{'.'.join(labels)}.{tld}",
    st.from_regex(r"[a-z0-9_+-]{1,12}(\.[a-z0-9]{1,5})?", fullmatch=True),
    st.lists(st.from_regex(r"[a-z0-9]([a-z0-9-]{0,6}[a-z0-9])?", fullmatch=True), min_size=1, max_size=3),
    st.sampled_from(["com", "fr", "be", "nl", "co-op", "x1y"]),
)
EDGE_ADDRESSES = [
    "a@b.test", "a@b.localhost", "a@xn--p1ai.ru", "a@b--c.com", "a@b.c0", "a@b.c-", "a@-b.com", "a@b.com\nc@d.com",
    "a.@b.com", "a@b.com ", "x" * 55 + "@example.com", "x" * 65 + "@b.com", "Lea@example.com", "élodie@example.fr",
    "a@b", "a@b.co-op", "a@1.com", "a@b.1com", "a@" + "b" * 64 + ".com",
]
address_lists = st.lists(st.one_of(stored_addresses, stored_addresses, stored_addresses, addresses,
                                   st.sampled_from(EDGE_ADDRESSES)), max_size=6)


@settings(max_examples=400, deadline=None)
@given(address_lists)
def test_a_list_checked_whole_is_normalised_as_each_address_alone(addresses):
    assert normalise_all_for_lookup(addresses) == [normalise_for_lookup(a) for a in addresses]


@pytest.mark.parametrize("edge", EDGE_ADDRESSES)
def test_one_edge_address_in_a_stored_list_is_normalised_as_it_alone_would_be(edge):
    listed = ["lea@example.com", edge, "jan@example.nl"]
    assert normalise_all_for_lookup(listed) == [normalise_for_lookup(a) for a in listed]


def test_only_the_addresses_not_in_stored_form_are_normalised_one_by_one(monkeypatch):
    listed = ["a@example.com", "Lea@Example.com", "b@example.com", "x" * 65 + "@b.com", "c@example.com", "d@b.test"]
    one_by_one = []
    normalise = lookup_addresses.normalise_for_lookup
    monkeypatch.setattr("consent_center.check.lookup_addresses.normalise_for_lookup",
                        lambda address: one_by_one.append(address) or normalise(address))
    assert normalise_all_for_lookup(listed) == [normalise(a) for a in listed]
    assert one_by_one == [listed[1], listed[3], listed[5]]


def test_a_list_in_stored_form_is_taken_whole(monkeypatch):
    listed = ["lea.martin+news@example.com", "jan@sub.example-shop.nl", "o'brien@example.ie"]
    monkeypatch.setattr("consent_center.check.lookup_addresses.normalise_for_lookup", lambda address: pytest.fail(address))
    assert normalise_all_for_lookup(listed) == listed


def test_fast_normalisation_takes_the_common_cases():
    assert fast_normalise(" Lea.Martin+news@Example.COM ") == "lea.martin+news@example.com"
    assert fast_normalise("élodie@example.fr") is None  # slow path, then normalised by email-validator
    assert validate_email("élodie@example.fr", check_deliverability=False)
    with pytest.raises(EmailNotValidError):
        validate_email("a..b@example.com", check_deliverability=False)
    assert fast_normalise("a..b@example.com") is None
