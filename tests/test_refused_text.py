"""Issue 21, items 13 and 14: one refusal of control characters for the web and the API,
mail that still reaches a legacy bad name, and CSV files no spreadsheet runs as formulas."""
import pytest
from sqlalchemy import select, update

from consent_center.models import Account, OutboxMessage, Subject
from consent_center.outbox.mail import enqueue_email

from .api_fixtures import assert_problem, db_counts
from .mail_fixtures import deliver

BAD_NAMES = {"RLO": "Zoé \u202eMartin", "CRLF": "Zoé\r\nBcc: evil@example.com", "NUL": "Zoé\x00Martin",
             "ESC": "Zoé \x1b[31mMartin", "tab": "Zoé\tMartin"}


@pytest.mark.parametrize("bad", BAD_NAMES.values(), ids=BAD_NAMES.keys())
def test_the_api_refuses_a_name_with_control_characters_or_line_breaks(api, session, bad):
    before = db_counts(session)
    body = assert_problem(api.post("/subjects", json={"email": "zoe@example.com", "name": bad}),
                          422, "validation-error")
    assert "/name" in [e["pointer"] for e in body["errors"]]
    assert db_counts(session) == before
    created = api.post("/subjects", json={"email": "zoe@example.com", "name": "Zoé"}).get_json()
    body = assert_problem(api.patch(f"/subjects/{created['id']}", json={"name": bad}), 422, "validation-error")
    assert "/name" in [e["pointer"] for e in body["errors"]]
    assert api.get(f"/subjects/{created['id']}").get_json()["name"] == "Zoé"


@pytest.mark.parametrize("field", ["external_ref", "phone"])
def test_the_api_refuses_line_breaks_in_every_one_line_field(api, field):
    body = assert_problem(api.post("/subjects", json={"email": "zoe@example.com", field: "A1\r\nB2"}),
                          422, "validation-error")
    assert f"/{field}" in [e["pointer"] for e in body["errors"]]


def test_a_postal_address_keeps_its_lines_but_not_a_bidi_override(api):
    created = api.post("/subjects", json={"email": "zoe@example.com", "postal_address": "Rue Haute 1\r\n1000 Bruxelles"})
    assert created.status_code == 201, created.get_json()
    body = assert_problem(api.patch(f"/subjects/{created.get_json()['id']}",
                                    json={"postal_address": "Rue \u202eHaute"}), 422, "validation-error")
    assert "/postal_address" in [e["pointer"] for e in body["errors"]]


def test_a_mail_to_a_legacy_name_with_a_line_break_is_delivered_with_a_clean_name(session, runner, mailbox):
    # Written before the boundaries refused it: straight into the database.
    # (A manage link greets by name; a sign-up's confirmation greets no one.)
    message = enqueue_email(session, topic="manage_link", to="reader@example.com", locale="en",
                            name="Zoé\r\nBcc: evil@example.com\u202e\x1b", subject="a" * 24,
                            email="reader@example.com")
    session.commit()
    result = deliver(runner)
    assert "Delivered 1, to retry 0, dead 0." in result.output
    received = mailbox.only("reader@example.com")
    assert received.rcpt_tos == ["reader@example.com"]
    to = received.message["To"]
    assert to.addresses[0].display_name == "Zoé Bcc: evil@example.com"
    assert to.addresses[0].addr_spec == "reader@example.com"
    assert received.message["Bcc"] is None
    assert "\u202e" not in received.text and "\x1b" not in received.text
    session.rollback()
    assert session.scalars(select(OutboxMessage.status).where(OutboxMessage.public_id == message.public_id)).one() \
        == "delivered"


def test_a_customer_named_as_a_formula_downloads_a_data_csv_that_does_not_run_it(client, auth, session, customer):
    formula = '=HYPERLINK("http://x","y")'
    session.execute(update(Subject).where(Subject.id == customer.subject_id).values(name=formula))
    session.commit()
    auth.login("camille@example.com")
    csv_body = client.get("/space/data.csv").get_data(as_text=True)
    assert 'subject,,name,"\'=HYPERLINK(""http://x"",""y"")"' in csv_body
    assert ",=HYPERLINK" not in csv_body and ',"=HYPERLINK' not in csv_body
    assert client.get("/space/data.json").get_json()["subject"]["name"] == formula


def test_a_policy_label_cannot_start_a_formula_in_the_ledger_export(session):
    from consent_center.policies.service import PolicyError, publish_policy
    for label in ("=1+1", "+1", "-v2", "@SUM(A1)", "\t=1"):
        with pytest.raises(PolicyError):
            publish_policy(session, label, {"en": "Text"})
