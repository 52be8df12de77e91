"""Whole-ledger consistency checks shared by the fault tests."""
from __future__ import annotations

import json
from collections import defaultdict

from sqlalchemy import select
from sqlalchemy.orm import Session

from consent_center.ledger.chain import replay_states, stored_states, verify_chains
from consent_center.models import ConsentEvent, Receipt
from consent_center.receipts.keys import key_ring
from consent_center.receipts.documents import verify_receipt


def assert_ledger_consistent(session: Session) -> None:
    """Chains verify, replay equals state, seqs have no hole, every receipt matches its events.

    A receipt with no event, or an event without its receipt, is what a
    half-written change would leave.
    """
    assert verify_chains(session).ok
    assert replay_states(session) == stored_states(session)
    seqs = defaultdict(list)
    for subject_id, seq in session.execute(select(ConsentEvent.subject_id, ConsentEvent.seq)
                                           .order_by(ConsentEvent.subject_id, ConsentEvent.seq)):
        seqs[subject_id].append(seq)
    assert all(found == list(range(1, len(found) + 1)) for found in seqs.values())
    keys = dict(key_ring().public)
    events_by_receipt = defaultdict(list)
    for event in session.scalars(select(ConsentEvent)):
        events_by_receipt[event.receipt_id].append(event)
    receipts = {r.id: r for r in session.scalars(select(Receipt))}
    assert set(events_by_receipt) == set(receipts), "an event without receipt, or a receipt without event"
    for receipt_id, events in events_by_receipt.items():
        receipt = receipts[receipt_id]
        assert receipt.subject_id == events[0].subject_id
        document = json.loads(receipt.document)
        if receipt.jws is not None:
            assert verify_receipt(receipt.jws, keys).document == document
        in_document = {e["id"]: e for e in document["events"]}
        assert set(in_document) == {e.public_id for e in events}
        for event in events:
            listed = in_document[event.public_id]
            assert (listed["seq"], listed["status"], listed["hash"]) == (event.seq, event.status, event.hash)
