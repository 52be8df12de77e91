"""CSV import of contacts: per-row report, idempotence, never undoing newer choices."""
import csv
import io
import json
from datetime import datetime, timezone

import pytest
from freezegun import freeze_time
from sqlalchemy import event, func, select

from consent_center.extensions import db
from consent_center.ledger.chain import replay_states, stored_states, verify_chains
from consent_center.ledger import Actor, current_states, record_change
from consent_center.models import ConsentEvent, OutboxMessage, Receipt, Source, Subject
from consent_center.outbox.webhooks import add_endpoint
from consent_center.subjects.service import create_subject

from .ledger_consistency import assert_ledger_consistent

HEADER = ["external_ref", "email", "phone", "name", "locale", "customer", "consent_email", "consent_sms",
          "consent_newsletter", "basis", "evidence", "collected_at"]


def write_csv(path, rows):
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(HEADER)
        writer.writerows(rows)
    return path


def good_row(i, **over):
    row = {"external_ref": f"CRM-{i}", "email": f"Contact{i}@Example.com ", "phone": "06 12 34 56 78",
           "name": f"Contact {i}", "locale": "fr", "customer": "yes", "consent_email": "",
           "consent_sms": "withdrawn", "consent_newsletter": "granted", "basis": "consent",
           "evidence": "paper form, shop counter", "collected_at": "2026-01-05"}
    row.update(over)
    return [row[h] for h in HEADER]


def event_count(session):
    session.rollback()
    return session.scalar(select(func.count()).select_from(ConsentEvent))


def states_by_code(session, ref):
    subject = session.scalars(select(Subject).where(Subject.external_ref == ref)).one()
    return {s.channel.code: (s.status, s.basis) for s in current_states(session, subject).values()}


BAD_ROWS = [
    (good_row(90, email="not-an-address"), "email"),
    (good_row(91, consent_sms="maybe"), "consent_sms must be one of"),
    (good_row(92, evidence=""), "evidence is required"),
    (good_row(93, locale="de"), "locale must be fr, nl or en"),
    (good_row(94, phone="12"), "phone number"),
    (good_row(95, collected_at="2999-01-01"), "in the future"),
    (good_row(96, name="Bobby\x07Tables"), "control characters"),
    (good_row(1, email="other@example.com"), "external_ref repeats line 2"),
    (good_row(97, external_ref=""), "external_ref is empty"),
]


def test_import_reports_each_bad_row_and_imports_the_good_ones(runner, session, tmp_path):
    path = write_csv(tmp_path / "contacts.csv", [good_row(1), good_row(2)] + [r for r, _ in BAD_ROWS])
    result = runner.invoke(args=["import", "contacts", str(path)])
    assert result.exit_code == 0, result.output
    assert "11 rows: imported 2 (2 new" in result.output
    assert f"{len(BAD_ROWS)} rejected" in result.output
    for line, (_, message) in enumerate(BAD_ROWS, start=4):
        assert f"line {line}: " in result.output and message in result.output
    subject = session.scalars(select(Subject).where(Subject.external_ref == "CRM-1")).one()
    assert (subject.email, subject.phone, subject.is_customer) == ("contact1@example.com", "+33612345678", True)
    states = states_by_code(session, "CRM-1")
    assert states["sms"] == ("withdrawn", "soft_opt_in")
    assert states["newsletter"] == ("granted", "consent")
    assert states["email"] == ("granted", "soft_opt_in")  # left at its default
    imported = session.scalars(select(ConsentEvent).where(ConsentEvent.source == Source.IMPORT)).all()
    assert imported and all(e.evidence["text"] == "paper form, shop counter" for e in imported)
    assert imported[0].evidence["collected_at"].startswith("2026-01-05")


def test_a_second_run_changes_nothing(runner, session, tmp_path):
    path = write_csv(tmp_path / "contacts.csv", [good_row(i) for i in range(1, 6)])
    assert runner.invoke(args=["import", "contacts", str(path)]).exit_code == 0
    before = event_count(session)
    result = runner.invoke(args=["import", "contacts", str(path)])
    assert "0 new, 0 with changed consents, 5 unchanged" in result.output
    assert event_count(session) == before


def test_dry_run_writes_nothing(runner, session, tmp_path):
    path = write_csv(tmp_path / "contacts.csv", [good_row(1)])
    result = runner.invoke(args=["import", "contacts", str(path), "--dry-run"])
    assert "would import 1" in result.output and "Dry run" in result.output
    assert event_count(session) == 0


def test_an_old_crm_export_never_undoes_a_newer_withdrawal(runner, session, tmp_path):
    path = write_csv(tmp_path / "contacts.csv", [good_row(1)])
    runner.invoke(args=["import", "contacts", str(path)])
    subject = session.scalars(select(Subject).where(Subject.external_ref == "CRM-1")).one()
    record_change(session, subject, {"newsletter": "withdrawn"}, source=Source.CUSTOMER_SPACE,
                  actor=Actor("subject", subject.public_id))
    session.commit()
    result = runner.invoke(args=["import", "contacts", str(path)])
    assert "newsletter: the center's withdrawn is newer; kept" in result.output
    assert states_by_code(session, "CRM-1")["newsletter"][0] == "withdrawn"


@pytest.mark.parametrize("basis", ["soft_opt_in"])
def test_rule_an_objection_is_not_undone_by_an_import_on_a_weaker_basis(runner, session, tmp_path, basis):
    path = write_csv(tmp_path / "contacts.csv", [good_row(1, consent_email="granted", basis=basis)])
    with freeze_time("2026-01-06"):
        runner.invoke(args=["import", "contacts", str(path)])
        subject = session.scalars(select(Subject).where(Subject.external_ref == "CRM-1")).one()
        record_change(session, subject, {"email": "withdrawn"}, source=Source.OBJECTION,
                      actor=Actor("subject", subject.public_id))
        session.commit()
    # A newer file, on a basis that asks nothing of the person: the objection stands (GDPR art. 21(3)).
    newer = write_csv(tmp_path / "newer.csv", [good_row(1, consent_email="granted", basis=basis,
                                                        collected_at="2026-02-01")])
    with freeze_time("2026-02-02"):
        result = runner.invoke(args=["import", "contacts", str(newer)])
    assert "email: the person's withdrawn stands; only an explicit consent" in result.output
    assert states_by_code(session, "CRM-1")["email"][0] == "withdrawn"
    # A consent the person gave again, with its evidence, does turn it back on.
    again = write_csv(tmp_path / "again.csv", [good_row(1, consent_email="granted", basis="consent",
                                                        collected_at="2026-03-01")])
    with freeze_time("2026-03-02"):
        runner.invoke(args=["import", "contacts", str(again)])
    assert states_by_code(session, "CRM-1")["email"][0] == "granted"


@pytest.mark.parametrize("over", [{"basis": "legitimate_interest", "consent_newsletter": "granted"},
                                  {"basis": "soft_opt_in", "customer": "no", "consent_newsletter": "granted"}])
def test_rule_an_import_grants_e_mail_only_on_a_basis_that_can_hold(runner, session, tmp_path, over):
    """ePrivacy art. 13: e-mail and SMS need consent or, for existing customers, the soft opt-in."""
    path = write_csv(tmp_path / "contacts.csv", [good_row(1, **over)])
    result = runner.invoke(args=["import", "contacts", str(path)])
    assert "cannot be granted on" in result.output
    assert session.scalars(select(Subject).where(Subject.external_ref == "CRM-1")).first() is None


def test_a_file_without_external_ref_or_with_unknown_columns_is_refused(runner, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("email,shoe_size\na@example.com,42\n")
    result = runner.invoke(args=["import", "contacts", str(path)])
    assert result.exit_code != 0 and "external_ref" in result.output


def test_import_of_two_thousand_rows_with_bad_rows(runner, session, tmp_path):
    # Four chunks of 500 (one transaction), a bad row in each hundred.
    rows = [good_row(i) if i % 100 else good_row(i, email="broken@") for i in range(1, 2_001)]
    path = write_csv(tmp_path / "big.csv", rows)
    report = tmp_path / "report.csv"
    result = runner.invoke(args=["import", "contacts", str(path), "--report", str(report)])
    assert result.exit_code == 0, result.output
    assert "2000 rows: imported 1980 (1980 new" in result.output and "20 rejected" in result.output
    lines = list(csv.reader(io.StringIO(report.read_text())))
    assert len(lines) == 1 + 20 and lines[1][1] == "rejected"
    before = event_count(session)
    again = runner.invoke(args=["import", "contacts", str(path)])
    assert "1980 unchanged" in again.output
    assert event_count(session) == before
    assert verify_chains(session).ok
    assert replay_states(session) == stored_states(session)


@pytest.fixture
def statements(app):
    """The statements executed (an executemany counts once), but those of the webhook hook:
    one per receipt, as for any change."""
    sent = []

    def count(conn, statement, multiparams, params, execution_options):
        if "webhook_endpoints" not in str(statement):
            sent.append(statement)

    event.listen(db.engine, "before_execute", count)
    yield sent
    event.remove(db.engine, "before_execute", count)


def test_an_import_sends_a_few_statements_per_chunk_not_per_row(runner, tmp_path, statements):
    counts = []
    for size, first in ((20, 1), (60, 100)):
        path = write_csv(tmp_path / f"{size}.csv", [good_row(i) for i in range(first, first + size)])
        statements.clear()
        result = runner.invoke(args=["import", "contacts", str(path)])
        assert f"{size} new" in result.output, result.output
        counts.append(len(statements))
    assert counts[0] == counts[1] and counts[1] < 30, counts


def test_a_restricted_contact_is_refused_and_the_rows_around_it_are_imported(runner, session, tmp_path):
    subject = create_subject(session, actor=Actor.system(), email="contact2@example.com", external_ref="CRM-2")
    record_change(session, subject, {"email": "restricted"}, source=Source.RESTRICTION, actor=Actor.system())
    session.commit()
    now = datetime.now(timezone.utc).isoformat()
    rows = [good_row(1), good_row(2, consent_email="granted", collected_at=now), good_row(3)]
    result = runner.invoke(args=["import", "contacts", str(tmp_path_csv := write_csv(tmp_path / "c.csv", rows))])
    assert "3 rows: imported 2 (2 new, 0 with changed consents, 0 unchanged); 1 rejected" in result.output
    assert "line 3: the use of this person's data is restricted" in result.output
    assert states_by_code(session, "CRM-2")["email"][0] == "restricted"
    assert states_by_code(session, "CRM-3")["newsletter"] == ("granted", "consent")
    session.rollback()
    assert_ledger_consistent(session)
    again = runner.invoke(args=["import", "contacts", str(tmp_path_csv)])
    assert "0 new, 0 with changed consents, 2 unchanged); 1 rejected" in again.output


def test_each_imported_change_has_its_signed_receipt_and_its_webhook_message(runner, session, tmp_path):
    add_endpoint(session, "https://crm.example.com/hook")
    session.commit()
    path = write_csv(tmp_path / "contacts.csv", [good_row(1), good_row(2, consent_newsletter="")])
    assert "2 new" in runner.invoke(args=["import", "contacts", str(path)]).output
    session.rollback()
    assert_ledger_consistent(session)
    receipts = session.scalars(select(Receipt).order_by(Receipt.id)).all()
    # A new contact's starting states, then the file's: two receipts, as create_subject then record_change write.
    assert [json.loads(r.document)["events"][0]["source"] for r in receipts] == \
        ["default", "import", "default", "import"]
    messages = session.scalars(select(OutboxMessage).where(OutboxMessage.topic == "consent.changed")
                               .order_by(OutboxMessage.id)).all()
    assert [m.payload["data"]["receipt"] for m in messages] == [r.public_id for r in receipts]
    imported = [e for m in messages for e in m.payload["data"]["events"] if e["source"] == "import"]
    assert [(e["channel"], e["status"]) for e in imported] == \
        [("sms", "withdrawn"), ("newsletter", "granted"), ("sms", "withdrawn")]
