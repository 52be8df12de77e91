"""The tamper matrix: each way the database's owner can alter the ledger behind the app, and the
line of ``ledger verify --checkpoint`` that catches it.

A small honest ledger is written through ``record_change`` (with its
receipts), a checkpoint is signed and held outside (its signed note and
verifier key copied to files, as a witness or an auditor keeps them), and
then the ledger is altered in SQL, the append-only triggers dropped as a
DBA could. Where the kind says so, the operator also covers their tracks
with the server's own code and keys, the strongest case: chain hashes
recomputed (chain.py), receipts re-signed with the receipt key, states set
to match, the log rebuilt and its checkpoints signed again; then every
check passes against the server's new checkpoint, and only the one held
outside objects. Each kind must make ``ledger verify --checkpoint`` exit 1
and be named by exactly the lines below; on the honest ledger it exits 0.

| kind | what the operator does | caught by |
|---|---|---|
| edit | an event's source changed in place | chains, log |
| delete middle | an event inside a chain deleted (its log leaf too) | chains, log |
| delete tail | a chain's newest event deleted, its state pointed back | chain heads, log |
| delete a whole chain | a subject's events, states and receipts deleted; log rebuilt, re-signed | log |
| truncate | the newest submissions deleted with their receipts, states set back; log rebuilt, re-signed | log |
| reorder | two events of two subjects swap places in the log; log rebuilt, re-signed | log |
| rewrite a withdrawal | a withdrawal made a grant, every later hash recomputed, receipts re-signed, state set; log rebuilt, re-signed | log |
| edit a state | a stored state made "granted" | states |
| edit a policy text | a policy text rewritten with its new SHA-256 | policy texts |
| swap a receipt's document | two receipts' documents and signatures swapped | receipts |

The last four kinds do not touch the events, so the log, which commits to
the events alone, holds: the checks beyond the chains name them. A reorder
within one chain is the chains' finding (tests/test_verify.py).
"""
import json
from types import SimpleNamespace

import pytest
from sqlalchemy import delete, insert, select, text, update
from sqlalchemy.exc import DBAPIError

from consent_center.extensions import db
from consent_center.ledger import append_only, merkle
from consent_center.ledger.chain import event_hash, event_rows, hashed_fields
from consent_center.ledger.transparency import leaf_data
from consent_center.models import (
    ConsentEvent,
    ConsentState,
    LogLeaf,
    LogNode,
    PolicyText,
    Receipt,
    Subject,
)
from consent_center.models.policy import text_sha256
from consent_center.receipts.documents import serialise, sign

from .log_fixtures import change, first_policy, forget_log, signed_note, well_known

CHECKS = ("chains", "states", "chain heads", "policy texts", "receipts", "log")
REBUILT = "rebuilt"  # a kind's answer: the operator rebuilds the log over today's events and signs it


@pytest.fixture
def held(runner, client, session, tmp_path):
    """An honest ledger of four subjects, and its signed checkpoint held outside."""
    # No clock frozen: none is read back.
    first_policy(session)
    change(session, "a@example.com", {"newsletter": "withdrawn", "sms": "withdrawn"})
    change(session, "b@example.com", {"newsletter": "granted"})
    change(session, "a@example.com", {"newsletter": "granted"})
    change(session, "c@example.com", {"sms": "granted", "post": "withdrawn"})
    change(session, "a@example.com", {"newsletter": "withdrawn"})
    change(session, "b@example.com", {"sms": "granted"})
    change(session, "d@example.com", {"newsletter": "granted"})
    change(session, "c@example.com", {"sms": "withdrawn"})
    signed_note(runner)
    note, key = tmp_path / "held.txt", tmp_path / "held.key"
    note.write_text(well_known(client, "checkpoint"))
    key.write_text(well_known(client, "key"))
    session.rollback()
    return SimpleNamespace(note=note, key=key, size=int(note.read_text().split("\n")[1]))


def verify(runner, held):
    result = runner.invoke(args=["ledger", "verify", "--checkpoint", str(held.note), "--key", str(held.key)])
    caught = {name for name in CHECKS for line in result.output.splitlines()
              if line.startswith(f"{name}: BROKEN")}
    return result.exit_code, caught, result.output


def subject_id(email):
    return db.session.scalar(select(Subject.id).where(Subject.email == email))


def chain_of(email):
    return db.session.scalars(select(ConsentEvent).where(ConsentEvent.subject_id == subject_id(email))
                              .order_by(ConsentEvent.seq)).all()


def run_sql(*statements):
    for statement in statements:
        db.session.execute(text(statement) if isinstance(statement, str) else statement)


# --- what an operator covering their tracks does, with the server's code and keys ---------

def sign_log_again(runner, order):
    """Integrate today's events again (in ``order`` of event ids, if not None) and sign a checkpoint."""
    if order is not None:
        rows = {row.id: row for row in db.session.execute(select(ConsentEvent.id, ConsentEvent.txid,
                                                                 ConsentEvent.hash))}
        frontier, nodes = merkle.Frontier(), []
        for index, event_id in enumerate(order):
            db.session.execute(insert(LogLeaf), [{"index": index, "event_id": event_id}])
            frontier.append(merkle.leaf_hash(leaf_data(rows[event_id].hash)),
                            lambda level, i, h: nodes.append({"level": level, "index": i, "hash": h}))
        db.session.execute(insert(LogNode), nodes)
        last = max((row.txid or 0, row.id) for row in rows.values())
        run_sql(text("UPDATE log_state SET size = :n, last_txid = :t, last_event_id = :e")
                .bindparams(n=frontier.size, t=last[0], e=last[1]))
    db.session.commit()
    signed_note(runner)


def restate(email, without=()):
    """Point each stored state of the subject at its chain's last event of that channel (of those
    not ``without``), as the ledger would have."""
    sid = subject_id(email)
    last = {event.channel_id: event for event in chain_of(email) if event.id not in without}
    for state in db.session.scalars(select(ConsentState).where(ConsentState.subject_id == sid)).all():
        event = last.get(state.channel_id)
        if event is None:
            db.session.delete(state)
        else:
            state.status, state.basis, state.event_id = event.status, event.basis, event.id
            state.changed_at, state.policy_version_id = event.occurred_at, event.policy_version_id
    db.session.flush()


def rehash_chain(email):
    """Recompute every hash and link of the subject's chain from what its events now say."""
    previous = None
    for row in [r for r in event_rows(db.session) if r.subject_id == subject_id(email)]:
        fields = hashed_fields(row, subject_public_id=row.subject_public_id, channel_code=row.channel_code,
                               policy_label=row.policy_label, receipt_public_id=row.receipt_public_id)
        fields["prev_hash"] = previous
        previous = event_hash(fields)
        run_sql(update(ConsentEvent).where(ConsentEvent.id == row.id).values(hash=previous,
                                                                              prev_hash=fields["prev_hash"]))


def resign_receipts(email):
    """Rewrite each receipt of the subject to say what its events now say, signed with the receipt key."""
    events = {event.public_id: event for event in chain_of(email)}
    for receipt in db.session.scalars(select(Receipt).where(Receipt.subject_id == subject_id(email))).all():
        document = json.loads(receipt.document)
        for signed, service in zip(document["events"], document["services"]):
            event = events[signed["id"]]
            signed.update(status=event.status, previousStatus=event.previous_status, hash=event.hash,
                          prevHash=event.prev_hash)
            service.update(status=event.status, previousStatus=event.previous_status)
        receipt.document = serialise(document)
        receipt.jws = sign(receipt.document)
    db.session.flush()


# --- the ten kinds -------------------------------------------------------------------------

def middle_event():
    """Subject a's grant of the newsletter between two withdrawals: no state points at it."""
    newsletter = [event for event in chain_of("a@example.com") if event.channel.code == "newsletter"]
    assert [event.status for event in newsletter[-3:]] == ["withdrawn", "granted", "withdrawn"]
    return newsletter[-2]


def edit():
    event = middle_event()
    run_sql(update(ConsentEvent).where(ConsentEvent.id == event.id).values(source="import"))


def delete_middle():
    event = middle_event()
    run_sql(delete(LogLeaf).where(LogLeaf.event_id == event.id), delete(ConsentEvent).where(ConsentEvent.id == event.id))


def delete_tail():
    last = chain_of("c@example.com")[-1]
    restate("c@example.com", without={last.id})
    run_sql(delete(LogLeaf).where(LogLeaf.event_id == last.id), delete(ConsentEvent).where(ConsentEvent.id == last.id))


def delete_chain():
    forget_log()
    sid = subject_id("b@example.com")
    run_sql(delete(ConsentState).where(ConsentState.subject_id == sid),
            delete(ConsentEvent).where(ConsentEvent.subject_id == sid),
            delete(Receipt).where(Receipt.subject_id == sid))
    return REBUILT


def truncate():
    forget_log()
    newest = db.session.scalars(select(Receipt.id).order_by(Receipt.id.desc()).limit(3)).all()
    touched = set(db.session.scalars(select(Subject.email).join(Receipt, Receipt.subject_id == Subject.id)
                                     .where(Receipt.id.in_(newest))))
    states = [state for state in db.session.scalars(select(ConsentState)) if state.event.receipt_id in newest]
    for state in states:  # off the events about to go; restate() points them at the last left
        db.session.delete(state)
    db.session.flush()
    run_sql(delete(ConsentEvent).where(ConsentEvent.receipt_id.in_(newest)), delete(Receipt).where(Receipt.id.in_(newest)))
    for email in touched:
        for event in chain_of(email):
            if db.session.get(ConsentState, (event.subject_id, event.channel_id)) is None:
                db.session.add(ConsentState(subject_id=event.subject_id, channel_id=event.channel_id,
                                            status=event.status, basis=event.basis, event_id=event.id,
                                            changed_at=event.occurred_at))
        db.session.flush()
        restate(email)
    return REBUILT


def reorder():
    order = list(db.session.scalars(select(LogLeaf.event_id).order_by(LogLeaf.index)))
    b, d = chain_of("b@example.com")[-1].id, chain_of("d@example.com")[-1].id
    i, j = order.index(b), order.index(d)
    order[i], order[j] = order[j], order[i]
    forget_log()
    return order


def rewrite_withdrawal():
    forget_log()
    withdrawal = chain_of("a@example.com")[-1]  # the newest: newsletter withdrawn
    assert withdrawal.status == "withdrawn"
    run_sql(update(ConsentEvent).where(ConsentEvent.id == withdrawal.id).values(status="granted"))
    rehash_chain("a@example.com")
    resign_receipts("a@example.com")
    restate("a@example.com")
    return REBUILT


def edit_state():
    run_sql(update(ConsentState).where(ConsentState.subject_id == subject_id("a@example.com"),
                                       ConsentState.status == "withdrawn").values(status="granted"))


def edit_policy_text():
    softened = "Policy 2018, softened"
    run_sql(update(PolicyText).values(body=softened, sha256=text_sha256(softened)))


def swap_receipt_document():
    newer, older = db.session.scalars(select(Receipt).where(Receipt.subject_id == subject_id("a@example.com"))
                                      .order_by(Receipt.id.desc()).limit(2)).all()
    (newer.document, newer.jws), (older.document, older.jws) = (older.document, older.jws), (newer.document, newer.jws)
    db.session.flush()


@pytest.mark.parametrize("tamper, caught_by", [
    (edit, {"chains", "log"}),
    (delete_middle, {"chains", "log"}),
    (delete_tail, {"chain heads", "log"}),
    (delete_chain, {"log"}),
    (truncate, {"log"}),
    (reorder, {"log"}),
    (rewrite_withdrawal, {"log"}),
    (edit_state, {"states"}),
    (edit_policy_text, {"policy texts"}),
    (swap_receipt_document, {"receipts"}),
], ids=lambda value: getattr(value, "__name__", None))
def test_each_kind_of_tampering_is_caught_by_its_check(runner, client, session, held, tamper, caught_by, tmp_path):
    # The events and the log's tables refuse it (migrations 0004 and 0023): the DBA drops the triggers first.
    with pytest.raises(DBAPIError, match="append-only"), db.session.begin_nested():
        forget_log()
    with append_only.lifted(db.session.connection()):
        cover = tamper()
    db.session.commit()
    if cover is not None:
        sign_log_again(runner, None if cover == REBUILT else cover)
        # The tracks are covered: against the checkpoint the server signs now, every line holds.
        served = tmp_path / "served.txt"
        served.write_text(well_known(client, "checkpoint"))
        code, caught, output = verify(runner, SimpleNamespace(note=served, key=held.key))
        assert code == 0 and caught == set(), output
    code, caught, output = verify(runner, held)
    assert code == 1, output
    assert caught == caught_by, output


def test_the_honest_ledger_passes_against_the_held_checkpoint(runner, held):
    code, caught, output = verify(runner, held)
    assert code == 0 and caught == set(), output
    assert f"extends checkpoint {held.note} of {held.size} events" in output
