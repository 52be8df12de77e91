"""An import row with an explicit consent and its paper evidence, over a soft opt-in, is a change.

Written against the command line only, so that it holds for the importer
that calls ``ledger.record_change`` and for the one on ``ledger.bulk.record_many``.
"""
from __future__ import annotations

import csv

from sqlalchemy import select

from consent_center.ledger import Actor, current_states
from consent_center.models import ConsentEvent, Receipt, Subject
from consent_center.models.vocabulary import Source
from consent_center.subjects.service import create_subject

from .ledger_consistency import assert_ledger_consistent

HEADER = ["external_ref", "email", "locale", "customer", "consent_email", "basis", "evidence", "collected_at"]


def import_file(runner, path, rows):
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(HEADER)
        writer.writerows(rows)
    result = runner.invoke(args=["import", "contacts", str(path)])
    assert result.exit_code == 0, result.output + repr(result.exception)
    return result.output


def email_of(session, ref):
    session.rollback()
    subject = session.scalars(select(Subject).where(Subject.external_ref == ref)).one()
    state = {s.channel.code: s for s in current_states(session, subject).values()}["email"]
    found = state.status, state.basis, state.event_id
    session.rollback()  # no transaction held open while the command writes (SQLite)
    return found


def test_an_explicit_consent_row_with_paper_evidence_over_a_soft_opt_in_records_a_change(
        runner, session, tmp_path):
    create_subject(session, actor=Actor.system(), email="noor@example.com", locale="nl", is_customer=True,
                   external_ref="CRM-42")
    session.commit()
    assert email_of(session, "CRM-42")[:2] == ("granted", "soft_opt_in")

    row = ["CRM-42", "noor@example.com", "nl", "yes", "granted", "consent",
           "signed paper form 2026-117", "2026-01-05"]
    output = import_file(runner, tmp_path / "paper.csv", [row])
    assert "1 with changed consents" in output

    status, basis, event_id = email_of(session, "CRM-42")
    assert (status, basis) == ("granted", "consent")
    event = session.get(ConsentEvent, event_id)
    assert (event.source, event.previous_status, event.event_type) == (Source.IMPORT, "granted", "given")
    assert event.evidence["text"] == "signed paper form 2026-117"
    assert event.evidence["external_ref"] == "CRM-42"
    assert session.get(Receipt, event.receipt_id) is not None
    assert_ledger_consistent(session)
    session.rollback()

    # The same file again is the same consent: nothing more.
    assert "1 unchanged" in import_file(runner, tmp_path / "paper.csv", [row])
    assert email_of(session, "CRM-42")[2] == event_id


def test_a_soft_opt_in_row_leaves_a_consent_the_person_gave(runner, session, tmp_path):
    create_subject(session, actor=Actor.system(), email="noor@example.com", locale="nl", is_customer=True,
                   external_ref="CRM-42")
    session.commit()
    consent = ["CRM-42", "noor@example.com", "nl", "yes", "granted", "consent", "signed paper form", ""]
    import_file(runner, tmp_path / "paper.csv", [consent])
    given = email_of(session, "CRM-42")

    older = ["CRM-42", "noor@example.com", "nl", "yes", "granted", "soft_opt_in", "customer since 2019", ""]
    assert "1 unchanged" in import_file(runner, tmp_path / "older.csv", [older])
    assert email_of(session, "CRM-42") == ("granted", "consent", given[2])
    assert_ledger_consistent(session)
