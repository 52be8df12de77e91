"""`ledger verify` checks more than the hash chains: the stored states against
a replay of the ledger, each chain's head against the events its newest
receipt signed, every policy text against its hash and what receipts signed,
and each receipt row against the document it carries.

Each test tampers with the database behind the app, as its owner could (the
append-only triggers lifted, as in test_verify.py), and checks the finding
is named, on the command line, in the recorded run and on /audit.
"""
import json
from types import SimpleNamespace
from datetime import datetime, timezone

import pytest
from freezegun import freeze_time
from sqlalchemy import select, update

from consent_center.extensions import db
from consent_center.ledger import Actor, append_only, record_change
from consent_center.models import (Channel, ConsentEvent, ConsentState, PolicyText, Receipt, Role, Source,
                                   VerificationRun)
from consent_center.policies.service import publish_policy
from consent_center.subjects.service import create_subject

from .conftest import form_post


@pytest.fixture
def ledger(session):
    """Two customers under a published policy, the first with a few changes of two channels."""
    publish_policy(session, "2018-11-26", {"fr": "Politique 2018", "en": "Policy 2018"},
                   effective_at=datetime(2018, 11, 26, tzinfo=timezone.utc))
    with freeze_time("2026-02-01 10:00:00"):
        first = create_subject(session, actor=Actor.system(), email="a@example.com", is_customer=True)
        create_subject(session, actor=Actor.system(), email="b@example.com", is_customer=True)
    for day, status in enumerate(("withdrawn", "granted", "withdrawn"), start=2):
        with freeze_time(f"2026-02-0{day} 10:00:00"):
            record_change(session, first, {"newsletter": status, "sms": status}, source=Source.API,
                          actor=Actor.system())
    session.commit()
    return SimpleNamespace(id=first.id, public_id=first.public_id)


def tamper(*statements):
    """Change the database behind the app, the append-only triggers lifted, and commit."""
    with append_only.lifted(db.session.connection()):
        for statement in statements:
            db.session.execute(statement)
    db.session.commit()


def events_of(session, subject):
    return session.scalars(select(ConsentEvent).where(ConsentEvent.subject_id == subject.id)
                           .order_by(ConsentEvent.seq)).all()


def channel_id(session, code):
    return session.scalar(select(Channel.id).where(Channel.code == code))


def verify(runner):
    result = runner.invoke(args=["ledger", "verify"])
    return result.exit_code, result.output


def last_run(session):
    session.rollback()
    return session.scalars(select(VerificationRun).order_by(VerificationRun.id.desc())).first()


def test_a_clean_ledger_passes_every_check(runner, session, ledger):
    code, output = verify(runner)
    assert code == 0, output
    for line in ("chains: OK", "states: OK", "chain heads: OK", "policy texts: OK", "receipts: OK"):
        assert line in output
    run = last_run(session)
    assert run.ok and (run.states_mismatched, run.chains_truncated, run.policy_texts_mismatched,
                       run.receipts_mismatched) == (0, 0, 0, 0)


def test_a_state_changed_behind_the_ledger_is_named_with_its_subject_and_channel(runner, session, ledger, api):
    sms = channel_id(session, "sms")
    tamper(update(ConsentState).where(ConsentState.subject_id == ledger.id, ConsentState.channel_id == sms)
           .values(status="granted"))
    # The check answers from the tampered state: the verification must say so.
    assert api.get(f"/check?channel=sms&subject={ledger.public_id}").get_json()["allowed"] is True
    code, output = verify(runner)
    assert code == 1
    assert "chains: OK" in output  # the chains hold: only the replay sees it
    assert "states: BROKEN" in output
    assert f"subject {ledger.public_id}, channel sms: status granted, the ledger says withdrawn" in output
    run = last_run(session)
    assert not run.ok and run.states_mismatched == 1 and f"subject {ledger.public_id}, channel sms" in run.findings


def test_a_state_moved_to_an_older_event_is_named(runner, session, ledger):
    events = events_of(session, ledger)
    sms = channel_id(session, "sms")
    older = [e for e in events if e.channel_id == sms][-2]
    tamper(update(ConsentState).where(ConsentState.subject_id == ledger.id, ConsentState.channel_id == sms)
           .values(status=older.status, basis=older.basis, event_id=older.id, changed_at=older.occurred_at))
    code, output = verify(runner)
    assert code == 1 and "states: BROKEN" in output
    latest = [e for e in events if e.channel_id == sms][-1]
    assert f"subject {ledger.public_id}, channel sms: " in output
    assert f"event {older.id}, the ledger says {latest.id}" in output


def test_a_deleted_last_event_is_found_by_the_receipt_that_signed_it(runner, session, ledger):
    events = events_of(session, ledger)
    last = events[-1]
    before = [e for e in events[:-1] if e.channel_id == last.channel_id][-1]
    # A DBA deletes the newest event and points its state back, so the chain
    # and the replay both hold: only the signed receipt remembers the event.
    tamper(
        update(ConsentState).where(ConsentState.subject_id == ledger.id, ConsentState.channel_id == last.channel_id)
        .values(status=before.status, basis=before.basis, event_id=before.id, changed_at=before.occurred_at,
                policy_version_id=before.policy_version_id),
        ConsentEvent.__table__.delete().where(ConsentEvent.id == last.id),
    )
    code, output = verify(runner)
    assert code == 1, output
    assert "chains: OK" in output and "states: OK" in output
    assert "chain heads: BROKEN" in output
    assert f"chain of subject {ledger.public_id} truncated after event {events[-2].id}" in output
    assert last.public_id in output
    run = last_run(session)
    assert not run.ok and run.chains_truncated == 1


def test_a_deleted_last_submission_whose_receipt_stays_is_found(runner, session, ledger):
    events = events_of(session, ledger)
    receipt_id = events[-1].receipt_id
    dropped = [e for e in events if e.receipt_id == receipt_id]
    survivors = {e.channel_id: e for e in events if e.receipt_id != receipt_id}
    statements = [update(ConsentState).where(ConsentState.subject_id == ledger.id,
                                             ConsentState.channel_id == e.channel_id)
                  .values(status=survivors[e.channel_id].status, basis=survivors[e.channel_id].basis,
                          event_id=survivors[e.channel_id].id, changed_at=survivors[e.channel_id].occurred_at)
                  for e in dropped]
    statements.append(ConsentEvent.__table__.delete().where(ConsentEvent.receipt_id == receipt_id))
    tamper(*statements)
    code, output = verify(runner)
    assert code == 1 and "chain heads: BROKEN" in output
    head = [e for e in events if e.receipt_id != receipt_id][-1]
    assert f"chain of subject {ledger.public_id} truncated after event {head.id}" in output


def test_an_edited_policy_text_is_found_by_its_hash(runner, session, ledger):
    tamper(update(PolicyText).where(PolicyText.locale == "en").values(body="Policy 2018, softened"))
    code, output = verify(runner)
    assert code == 1 and "policy texts: BROKEN" in output
    assert "policy version 2018-11-26 (en): the text does not hash to its stored SHA-256" in output
    assert last_run(session).policy_texts_mismatched >= 1


def test_an_edited_policy_text_with_a_new_hash_is_found_by_the_receipts(runner, session, ledger):
    from consent_center.models.policy import text_sha256

    # Every text rewritten with its new hash: only the receipts remember the old ones.
    softened = "Policy 2018, softened"
    tamper(update(PolicyText).values(body=softened, sha256=text_sha256(softened)))
    code, output = verify(runner)
    assert code == 1 and "policy texts: BROKEN" in output
    assert "does not hash to its stored SHA-256" not in output
    assert "policy version 2018-11-26 (fr): receipts signed the hash" in output


def swap_receipts(session, subject):
    """Swap the documents and signatures of the subject's two newest receipts; return their public ids."""
    newer, older = session.scalars(select(Receipt).where(Receipt.subject_id == subject.id)
                                   .order_by(Receipt.id.desc()).limit(2)).all()
    a = (newer.id, newer.public_id, newer.document, newer.jws)
    b = (older.id, older.public_id, older.document, older.jws)
    tamper(update(Receipt).where(Receipt.id == a[0]).values(document=b[2], jws=b[3]),
           update(Receipt).where(Receipt.id == b[0]).values(document=a[2], jws=a[3]))
    return a[1], b[1]


def test_swapped_receipt_documents_are_found_by_ledger_verify(runner, session, ledger):
    newer, older = swap_receipts(session, ledger)
    code, output = verify(runner)
    assert code == 1 and "receipts: BROKEN" in output
    assert f"receipt {newer} carries the document of receipt {older}" in output
    assert f"receipt {older} carries the document of receipt {newer}" in output
    assert last_run(session).receipts_mismatched == 2


def test_receipt_verify_refuses_a_download_that_serves_another_receipts_document(
        runner, session, ledger, api, tmp_path):
    newer, older = swap_receipts(session, ledger)
    body = api.get(f"/receipts/{newer}").get_json()
    assert body["receipt_id"] == newer
    path = tmp_path / "download.json"
    path.write_text(json.dumps(body))
    result = runner.invoke(args=["receipt", "verify", str(path)])
    assert result.exit_code == 1
    assert f"the download is receipt {newer} but its signed document is receipt {older}" in result.output


def test_receipt_verify_refuses_a_download_whose_date_is_not_the_signed_one(runner, session, ledger, api, tmp_path):
    receipt_id = session.scalar(select(Receipt.public_id).where(Receipt.subject_id == ledger.id).order_by(Receipt.id))
    session.rollback()  # no read left open: SQLite would keep the API's writes waiting
    body = api.get(f"/receipts/{receipt_id}").get_json()
    body["issued_at"] = "2030-01-01T00:00:00.000000Z"
    path = tmp_path / "download.json"
    path.write_text(json.dumps(body))
    result = runner.invoke(args=["receipt", "verify", str(path)])
    assert result.exit_code == 1
    assert "issued at 2030-01-01T00:00:00.000000Z but its signed document at" in result.output


def test_receipt_verify_refuses_a_bare_signature_under_another_receipts_file_name(
        runner, session, ledger, api, tmp_path):
    first, second = session.scalars(select(Receipt).where(Receipt.subject_id == ledger.id)
                                    .order_by(Receipt.id).limit(2)).all()
    path = tmp_path / f"receipt-{first.public_id}.json"
    path.write_text(second.jws)
    result = runner.invoke(args=["receipt", "verify", str(path)])
    assert result.exit_code == 1
    assert f"the file names receipt {first.public_id} but its signed document is receipt {second.public_id}" \
        in result.output
    path = tmp_path / f"receipt-{second.public_id}.json"
    path.write_text(second.jws)
    assert runner.invoke(args=["receipt", "verify", str(path)]).exit_code == 0


def test_the_audit_page_shows_each_check_of_a_broken_run(client, session, ledger, make_account, auth):
    make_account("auditor@example.com", role=Role.AUDITOR, locale="en")
    auth.login("auditor@example.com")
    sms = channel_id(session, "sms")
    tamper(update(ConsentState).where(ConsentState.subject_id == ledger.id, ConsentState.channel_id == sms)
           .values(status="granted"))
    form_post(client, "/audit/", {}, action="/audit/verification")
    page = client.get("/audit/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "The ledger is broken" in page
    assert "Stored states that differ from the ledger" in page
    assert f"subject {ledger.public_id}, channel sms: status granted, the ledger says withdrawn" in page
    run = last_run(session)
    assert not run.ok and run.states_mismatched == 1 and run.started_by.startswith("account:")


def test_a_receipt_document_edited_without_its_signature_is_found(runner, session, ledger):
    withdrawal = next(e for e in events_of(session, ledger) if e.status == "withdrawn")
    receipt = session.get(Receipt, withdrawal.receipt_id)
    public_id, edited = receipt.public_id, receipt.document.replace('"withdrawn"', '"granted"')
    assert edited != receipt.document
    tamper(update(Receipt).where(Receipt.id == receipt.id).values(document=edited))
    code, output = verify(runner)
    assert code == 1 and "receipts: BROKEN" in output
    assert f"receipt {public_id} carries a document its signature does not cover" in output


def test_a_newest_receipt_stripped_of_its_signature_cannot_hide_a_deleted_event(runner, session, ledger):
    events = events_of(session, ledger)
    last = events[-1]
    before = [e for e in events[:-1] if e.channel_id == last.channel_id][-1]
    receipt = session.get(Receipt, last.receipt_id)
    document = json.loads(receipt.document)
    document["events"] = [e for e in document["events"] if e["id"] != last.public_id]
    from consent_center.canonical import canonical_json

    # The DBA deletes the event, rewrites its receipt without it, and drops the signature.
    tamper(
        update(ConsentState).where(ConsentState.subject_id == ledger.id, ConsentState.channel_id == last.channel_id)
        .values(status=before.status, basis=before.basis, event_id=before.id, changed_at=before.occurred_at),
        ConsentEvent.__table__.delete().where(ConsentEvent.id == last.id),
        update(Receipt).where(Receipt.id == receipt.id).values(document=canonical_json(document), jws=None),
    )
    code, output = verify(runner)
    assert code == 1 and "receipts: BROKEN" in output
    assert f"receipt {receipt.public_id} is unsigned, though receipts before it were signed" in output


def test_an_event_appended_behind_the_ledger_is_found_unsigned_by_its_receipt(runner, session, ledger):
    from consent_center.ledger.chain import event_hash, hashed_fields

    last = events_of(session, ledger)[-1]
    receipt = session.get(Receipt, last.receipt_id)
    # INSERT is not refused (append-only): a forged event, hashed and chained right,
    # pinned to the newest receipt, its state moved along.
    forged = {c.name: getattr(last, c.name) for c in ConsentEvent.__table__.c if c.name not in ("id", "txid")}
    forged.update(public_id="00000000-0000-4000-8000-000000000001", seq=last.seq + 1, status="granted",
                  previous_status=last.status, prev_hash=last.hash)
    probe = ConsentEvent(**forged)
    forged["hash"] = event_hash(hashed_fields(
        probe, subject_public_id=ledger.public_id, channel_code=last.channel.code,
        policy_label=last.policy_version.label if last.policy_version else None,
        receipt_public_id=receipt.public_id))
    session.expunge_all()
    tamper(ConsentEvent.__table__.insert().values(**forged))
    forged_id = session.scalar(select(ConsentEvent.id).where(ConsentEvent.public_id == forged["public_id"]))
    tamper(update(ConsentState).where(ConsentState.subject_id == ledger.id,
                                      ConsentState.channel_id == forged["channel_id"])
           .values(status="granted", event_id=forged_id))
    code, output = verify(runner)
    assert code == 1, output
    assert "chains: OK" in output and "states: OK" in output
    assert f"receipt {receipt.public_id} does not sign event {forged['public_id']}" in output
