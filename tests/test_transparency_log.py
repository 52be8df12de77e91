"""The transparency log: every consent event a leaf of one RFC 9162 tree, signed checkpoints,
proofs in the API, and `ledger verify --checkpoint` against a checkpoint kept elsewhere.

Proofs are checked with test_merkle's verifier written from the RFC, and
signed notes with a reading of the C2SP signed-note format written apart
(tests/log_fixtures.py),
never with the module that made them.
"""
import base64

import pytest
from freezegun import freeze_time
from sqlalchemy import select

from consent_center.extensions import db
from consent_center.ledger import Actor, append_only, record_change
from consent_center.ledger.chain import event_hash, event_rows, hashed_fields
from consent_center.models import ConsentEvent, LogCheckpoint, Source, Subject

from .log_fixtures import (  # noqa: F401  (ledger: a fixture)
    change,
    checkpoint,
    event_count,
    ledger,
    open_checkpoint,
    rebuild_log,
    sql,
    well_known,
)
from .test_merkle import rfc_verify_consistency, rfc_verify_inclusion


# --- integration and checkpoints ----------------------------------------------------------

def test_checkpoint_integrates_every_event_and_serves_a_signed_note(runner, client, session, ledger):
    assert client.get("/.well-known/consent-log/checkpoint").status_code == 404
    output = checkpoint(runner)
    total = event_count(session)
    assert f"Log: {total} events; checkpoint signed." in output
    response = client.get("/.well-known/consent-log/checkpoint")
    assert response.status_code == 200 and response.mimetype == "text/plain"
    key = client.get("/.well-known/consent-log/key")
    assert key.mimetype == "text/plain"
    origin, size, root = open_checkpoint(response.get_data(as_text=True), key.get_data(as_text=True))
    assert (origin, size) == ("localhost/consent-log", total)
    assert len(root) == 32
    assert response.get_data(as_text=True) in output


def test_inclusion_proof_of_every_event_verifies_against_the_signed_root(runner, client, session, ledger, api):
    checkpoint(runner)
    note = client.get("/.well-known/consent-log/checkpoint").get_data(as_text=True)
    _, size, root = open_checkpoint(note, client.get("/.well-known/consent-log/key").get_data(as_text=True))
    session.rollback()
    events = session.execute(select(ConsentEvent.public_id, ConsentEvent.hash).order_by(ConsentEvent.id)).all()
    session.rollback()  # SQLite: no read transaction left open while the app writes
    indexes = set()
    for public_id, event_hash_hex in events:
        response = api.get(f"/log/inclusion?event={public_id}")
        assert response.status_code == 200, response.json
        proof = response.json
        assert proof["tree_size"] == size and proof["checkpoint"] == note
        assert proof["event_hash"] == event_hash_hex
        path = [base64.b64decode(h) for h in proof["inclusion_path"]]
        # The leaf is the event's stored hash: what the chain and the export show.
        assert rfc_verify_inclusion(proof["leaf_index"], size, bytes.fromhex(event_hash_hex), path, root)
        indexes.add(proof["leaf_index"])
    assert indexes == set(range(size))


def test_a_later_checkpoint_is_consistent_with_an_earlier_one(runner, client, session, ledger, api):
    checkpoint(runner)
    first = client.get("/.well-known/consent-log/checkpoint").get_data(as_text=True)
    change(session, "d@example.com", {"newsletter": "granted"}, "2026-02-05 10:00:00")
    change(session, "a@example.com", {"sms": "granted"}, "2026-02-05 11:00:00")
    checkpoint(runner, "--force")
    second = client.get("/.well-known/consent-log/checkpoint").get_data(as_text=True)
    key = client.get("/.well-known/consent-log/key").get_data(as_text=True)
    _, size_1, root_1 = open_checkpoint(first, key)
    _, size_2, root_2 = open_checkpoint(second, key)
    assert size_2 > size_1
    proof = api.get(f"/log/consistency?from={size_1}&to={size_2}").json
    assert (proof["tree_size_1"], proof["tree_size_2"]) == (size_1, size_2)
    assert (proof["checkpoint_1"], proof["checkpoint_2"]) == (first, second)
    path = [base64.b64decode(h) for h in proof["consistency_path"]]
    assert rfc_verify_consistency(size_1, size_2, root_1, root_2, path)
    listed = api.get("/log/checkpoints").json
    assert [c["note"] for c in listed["checkpoints"]] == [first, second]
    assert listed["verifier_keys"] == [key.strip()]
    # An inclusion proof against the older size still verifies against the older root.
    public_id, first_hash = session.execute(select(ConsentEvent.public_id, ConsentEvent.hash)
                                            .order_by(ConsentEvent.id)).first()
    session.rollback()
    old = api.get(f"/log/inclusion?event={public_id}&size={size_1}").json
    assert old["checkpoint"] == first
    assert rfc_verify_inclusion(old["leaf_index"], size_1, bytes.fromhex(first_hash),
                                [base64.b64decode(h) for h in old["inclusion_path"]], root_1)


def test_a_checkpoint_is_signed_only_when_the_log_grew_and_the_interval_passed(runner, session, ledger):
    with freeze_time("2026-03-01 10:00:00"):
        assert "checkpoint signed" in checkpoint(runner)
    with freeze_time("2026-03-01 10:00:30"):
        assert "no checkpoint due" in checkpoint(runner)  # nothing new
        change(session, "d@example.com", {"newsletter": "granted"}, "2026-03-01 10:00:30")
        assert "no checkpoint due" in checkpoint(runner)  # 30 s < CONSENT_CHECKPOINT_SECONDS
        assert "checkpoint signed" in checkpoint(runner, "--force")
    with freeze_time("2026-03-01 10:02:00"):
        assert "no checkpoint due" in checkpoint(runner)  # due, but nothing new
        change(session, "e@example.com", {"newsletter": "granted"}, "2026-03-01 10:02:00")
        assert "checkpoint signed" in checkpoint(runner)
    session.rollback()
    assert len(session.scalars(select(LogCheckpoint)).all()) == 3


def test_the_outbox_worker_integrates_and_signs(runner, session, ledger):
    result = runner.invoke(args=["outbox", "deliver", "--once"])
    assert result.exit_code == 0, result.output
    session.rollback()
    signed = session.scalars(select(LogCheckpoint)).one()
    assert signed.tree_size == event_count(session)


def opens_with(note, keys):
    """The one line of ``keys`` (a published list) whose key opens ``note``; fails unless exactly one."""
    opened = []
    for key in keys.splitlines():
        try:
            opened.append((key, open_checkpoint(note, key)))
        except AssertionError:
            continue
    assert len(opened) == 1, (note, keys)
    return opened[0][0]


def test_a_rotated_checkpoint_key_still_verifies_older_checkpoints_from_what_is_published(
        runner, client, session, ledger, api, tmp_path):
    checkpoint(runner)
    old_note, old_key = well_known(client, "checkpoint"), well_known(client, "key")
    assert well_known(client, "keys") == old_key  # one key: the list is the key
    result = runner.invoke(args=["ledger", "rotate-checkpoint-key"])
    assert result.exit_code == 0, result.output
    change(session, "d@example.com", {"newsletter": "granted"}, "2026-02-05 10:00:00")
    checkpoint(runner, "--force")
    new_note, new_key = well_known(client, "checkpoint"), well_known(client, "key")
    keys = client.get("/.well-known/consent-log/keys")
    assert keys.mimetype == "text/plain" and keys.headers["Access-Control-Allow-Origin"] == "*"
    published = keys.get_data(as_text=True)
    # /key stays one key, the active one; /keys holds it first, then the retired one, one a line.
    assert new_key != old_key and published == new_key + old_key
    assert api.get("/log/checkpoints").json["verifier_keys"] == published.split()
    assert opens_with(old_note, published) == old_key.strip()
    assert opens_with(new_note, published) == new_key.strip()
    with pytest.raises(AssertionError):
        open_checkpoint(old_note, new_key)  # the active key alone no longer opens it

    held, keys_file, key_file = tmp_path / "old.txt", tmp_path / "keys.txt", tmp_path / "key.txt"
    held.write_text(old_note)
    keys_file.write_text(published)
    key_file.write_text(new_key)
    for key in (None, old_key.strip(), str(keys_file)):  # the app's keys, the old key alone, the published list
        result = runner.invoke(args=["ledger", "verify", "--checkpoint", str(held), *(["--key", key] if key else [])])
        assert result.exit_code == 0 and f"extends checkpoint {held}" in result.output, result.output
    result = runner.invoke(args=["ledger", "verify", "--checkpoint", str(held), "--key", str(key_file)])
    assert result.exit_code == 1 and "no signature by a known key" in result.output, result.output
    # The export keeps every key beside the notes: each exported note verifies from the folder alone.
    exported = tmp_path / "export"
    assert runner.invoke(args=["ledger", "checkpoints", "--export", str(exported)]).exit_code == 0
    assert (exported / "verifier-key.txt").read_text() == published
    result = runner.invoke(args=["ledger", "verify", "--checkpoint", str(exported),
                                 "--key", str(exported / "verifier-key.txt")])
    assert result.exit_code == 0 and result.output.count("log: OK (the log of") == 2, result.output


# --- the API's answers to bad questions ---------------------------------------------------

def test_log_proofs_need_the_audit_scope(runner, session, ledger, api_with):
    checkpoint(runner)
    event = session.scalars(select(ConsentEvent.public_id)).first()
    session.rollback()
    assert api_with("consent:read").get(f"/log/inclusion?event={event}").status_code == 403
    assert api_with("consent:read").get("/log/consistency?from=1&to=2").status_code == 403
    assert api_with("audit:read").get(f"/log/inclusion?event={event}").status_code == 200


@pytest.mark.parametrize("query, status", [
    ("/log/inclusion?event=nope", 404),
    ("/log/inclusion?event={event}&size=99999", 422),
    ("/log/inclusion?event={event}&size=0", 422),
    ("/log/inclusion?event={event}&size=\u0661", 422),  # an Arabic-Indic one
    ("/log/inclusion?event={event}&size=1_0", 422),
    ("/log/inclusion?event={event}&size=99999999999999999999", 422),
    ("/log/consistency?from=3&to=2", 422),
    ("/log/consistency?from=0&to=2", 422),
    ("/log/consistency?from=1&to=99999", 422),
    ("/log/consistency?from=1", 422),
])
def test_bad_log_questions_get_a_clear_answer(runner, session, ledger, api, query, status):
    checkpoint(runner)
    event = session.scalars(select(ConsentEvent.public_id).order_by(ConsentEvent.id.desc())).first()
    session.rollback()
    response = api.get(query.format(event=event))
    assert response.status_code == status, response.json
    assert response.mimetype == "application/problem+json"


def test_an_event_not_yet_in_the_log_or_past_the_size_is_not_found(runner, session, ledger, api):
    checkpoint(runner)
    size = event_count(session)
    change(session, "d@example.com", {"newsletter": "granted"}, "2026-02-05 10:00:00")
    newest = session.scalars(select(ConsentEvent.public_id).order_by(ConsentEvent.id.desc())).first()
    session.rollback()
    assert api.get(f"/log/inclusion?event={newest}").status_code == 404
    checkpoint(runner)  # integrated, but no checkpoint due yet: proofs stay against the signed size
    assert api.get(f"/log/inclusion?event={newest}").status_code == 404
    total = event_count(session)
    assert total > size
    assert api.get(f"/log/inclusion?event={newest}&size={total}").status_code == 200
    assert api.get(f"/log/inclusion?event={newest}&size={total - 1}").status_code == 404


# --- ledger verify --checkpoint -----------------------------------------------------------

@pytest.fixture
def kept(runner, client, ledger, tmp_path):
    """A checkpoint kept elsewhere (a witness, an auditor's file), then more events."""
    checkpoint(runner)
    path = tmp_path / "old.txt"
    path.write_text(client.get("/.well-known/consent-log/checkpoint").get_data(as_text=True))
    change(db.session, "d@example.com", {"newsletter": "granted"}, "2026-02-05 10:00:00")
    checkpoint(runner, "--force")
    return path


def kept_size(path):
    return int(path.read_text().split("\n")[1])


def verify_against(runner, path):
    result = runner.invoke(args=["ledger", "verify", "--checkpoint", str(path)])
    return result.exit_code, result.output


def test_verify_against_a_kept_checkpoint_passes_on_an_honest_ledger(runner, session, kept):
    code, output = verify_against(runner, kept)
    assert code == 0, output
    size = kept_size(kept)
    assert f"log: OK (the log of {event_count(db.session)} events extends checkpoint {kept} of {size} events)" in output


def test_a_deleted_chain_is_caught_by_the_kept_checkpoint(runner, session, kept):
    subject = session.scalars(select(Subject).where(Subject.email == "b@example.com")).one()
    with append_only.lifted(db.session.connection()):
        for table in ("log_leaves WHERE event_id IN (SELECT id FROM consent_events WHERE subject_id = :s)",
                      "consent_states WHERE subject_id = :s", "consent_events WHERE subject_id = :s"):
            db.session.execute(sql(f"DELETE FROM {table}", s=subject.id))
    db.session.commit()
    rebuild_log(runner)
    code, output = verify_against(runner, kept)
    assert code == 1
    assert f"log: BROKEN against checkpoint {kept} (size {kept_size(kept)}): the first {kept_size(kept)} events " \
        "no longer hash" in output


def test_a_truncated_ledger_is_caught_by_the_kept_checkpoint(runner, session, kept):
    # Everything since the kept checkpoint, and its last event.
    last = session.scalars(select(ConsentEvent.id).order_by(ConsentEvent.id.desc())
                           .limit(event_count(session) - kept_size(kept) + 1)).all()
    with append_only.lifted(db.session.connection()):
        for table in ("log_leaves WHERE event_id >= :e", "consent_states WHERE event_id >= :e",
                      "consent_events WHERE id >= :e"):
            db.session.execute(sql(f"DELETE FROM {table}", e=min(last)))
    db.session.commit()
    rebuild_log(runner)
    code, output = verify_against(runner, kept)
    assert code == 1
    size = kept_size(kept)
    assert f"log: BROKEN against checkpoint {kept} (size {size}): the log holds {size - 1} events, fewer than " \
        f"the {size}" in output


def test_a_withdrawal_rewritten_as_a_grant_with_every_hash_recomputed_is_caught(runner, session, kept):
    subject = session.scalars(select(Subject).where(Subject.email == "a@example.com")).one()
    first_withdrawal = session.scalars(
        select(ConsentEvent).where(ConsentEvent.subject_id == subject.id, ConsentEvent.status == "withdrawn")
        .order_by(ConsentEvent.seq)).first()
    session.rollback()
    with append_only.lifted(db.session.connection()):
        db.session.execute(sql("UPDATE consent_events SET status = 'granted' WHERE id = :e", e=first_withdrawal.id))
        # Every later hash of the chain recomputed, as a careful forger would.
        previous = None
        for row in [r for r in event_rows(db.session) if r.subject_id == subject.id]:
            fields = hashed_fields(row, subject_public_id=row.subject_public_id, channel_code=row.channel_code,
                                   policy_label=row.policy_label, receipt_public_id=row.receipt_public_id)
            fields["prev_hash"] = previous
            previous = event_hash(fields)
            db.session.execute(sql("UPDATE consent_events SET hash = :h, prev_hash = :p WHERE id = :e",
                                   h=previous, p=fields["prev_hash"], e=row.id))
    db.session.commit()
    rebuild_log(runner)
    code, output = verify_against(runner, kept)
    assert code == 1
    assert f"log: BROKEN against checkpoint {kept} (size {kept_size(kept)}): the first {kept_size(kept)} events " \
        "no longer hash" in output


def test_a_rewritten_event_whose_log_was_left_alone_is_caught(runner, session, kept):
    event = session.scalars(select(ConsentEvent).order_by(ConsentEvent.id)).first()
    session.rollback()
    with append_only.lifted(db.session.connection()):
        db.session.execute(sql("UPDATE consent_events SET source = 'import' WHERE id = :e", e=event.id))
    db.session.commit()
    code, output = verify_against(runner, kept)
    assert code == 1 and f"log: BROKEN against checkpoint {kept} (size {kept_size(kept)})" in output


def test_a_checkpoint_that_does_not_verify_is_refused(runner, kept, tmp_path):
    forged = tmp_path / "forged.txt"
    lines = kept.read_text().split("\n")
    lines[1] = str(int(lines[1]) - 1)
    forged.write_text("\n".join(lines))
    code, output = verify_against(runner, forged)
    size = kept_size(forged)
    assert code == 1 and f"log: BROKEN against checkpoint {forged} (size {size}): the checkpoint does not verify" \
        in output


def test_postgres_an_open_transaction_holds_its_events_and_later_ones_back(runner, session, ledger):
    """Indexes follow commit order: an event of a transaction still open is not integrated, nor
    any event after it, until it commits; then it takes the next index (ledger/feed.py)."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite serialises writers: a second writer waits for the first to commit")
    from sqlalchemy.orm import Session

    before = event_count(session)
    other = Session(db.engine)
    subject = other.scalars(select(Subject).where(Subject.email == "b@example.com")).one()
    record_change(other, subject, {"sms": "granted"}, source=Source.API, actor=Actor.system())
    other.flush()  # an id taken, not committed
    try:
        change(session, "c@example.com", {"newsletter": "granted"}, "2026-02-05 10:00:00")
        assert f"Log: {before} events" in checkpoint(runner)
        other.commit()
        assert f"Log: {before + 2} events" in checkpoint(runner)
    finally:
        other.close()
    assert runner.invoke(args=["ledger", "verify"]).exit_code == 0
