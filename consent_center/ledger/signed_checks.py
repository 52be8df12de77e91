"""The ledger against what its receipts signed: each chain's head, each receipt row, each policy text.

A receipt signs the hashes of its events and the hash of the policy text
shown: the newest receipt of a subject anchors the head of its chain (an
event deleted from the end breaks no link, but its receipt still signs it),
and the texts must still hash to what receipts signed. A receipt row must
carry its own document: its id, its subject and its date.
"""
from __future__ import annotations

import json
from itertools import groupby

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from consent_center.canonical import format_time
from consent_center.ledger.chain import Chain
from consent_center.ledger.findings import Check, SubjectStream
from consent_center.models import PolicyText, PolicyVersion, Receipt, Subject
from consent_center.models.policy import text_sha256
from consent_center.receipts.documents import ReceiptInvalid, signed_payload, verify_receipt
from consent_center.receipts.keys import key_ring


class SignedReceipts:
    """Walks every receipt beside the chains, by subject then id: each receipt row must carry its
    own document, and each chain must hold every event its subject's newest receipt signed.

    Receipts were unsigned only before signing began: one without its JWS
    after the first signed one has lost it (and with it the anchor of its chain).
    """

    def __init__(self, session: Session, batch: int = 1000):
        self.heads = Check("chain heads")
        self.receipts = Check("receipts")
        self.signed_texts: set[tuple[str, str, str]] = set()  # (label, locale, SHA-256) signed
        self._keys = dict(key_ring().public)
        self._first_signed = session.scalar(select(func.min(Receipt.id)).where(Receipt.jws.is_not(None)))
        self._rows = SubjectStream(session.execute(
            select(Receipt.id, Receipt.subject_id, Receipt.public_id, Receipt.issued_at, Receipt.document,
                   Receipt.jws, Subject.public_id.label("subject_public_id"))
            .join(Subject, Subject.id == Receipt.subject_id)
            .order_by(Receipt.subject_id, Receipt.id)
            .execution_options(yield_per=batch)))

    def chain(self, chain: Chain) -> None:
        chainless, own = self._rows.take(chain.subject_id)
        self._chainless(chainless)
        if own:
            self._subject(own, chain)

    def finish(self) -> None:
        try:
            self._chainless(self._rows.take(None)[0])
        finally:
            self._rows.close()

    def _chainless(self, rows) -> None:
        for _, receipts in groupby(rows, key=lambda row: row.subject_id):
            self._subject(list(receipts), None)

    def _subject(self, receipts: list, chain: Chain | None) -> None:
        signs = {}  # receipt public id -> {event public id: hash} its document signs
        for row in receipts:
            self.receipts.checked += 1
            document = json.loads(row.document)
            self._note_policy(document)
            for finding in self._row_findings(row, document):
                self.receipts.found(f"receipt {row.public_id} {finding}")
            # A document without an events list names none to check; another receipt's
            # document is the row's finding already.
            if "events" in document and document.get("consentReceiptID") == row.public_id:
                signs[row.public_id] = {e.get("id"): e.get("hash") for e in document["events"] or ()}
        # INSERT is not refused: an event added behind the ledger, chained and hashed right,
        # is still signed by no receipt.
        for event in chain.events if chain else ():
            signed = signs.get(event.receipt_public_id)
            if signed is not None and signed.get(event.public_id) != event.hash:
                self.receipts.found(f"receipt {event.receipt_public_id} does not sign event {event.public_id} "
                                    f"of subject {chain.subject_public_id}")
        self._anchor(receipts[-1], chain)

    def _row_findings(self, row, document: dict):
        if document.get("consentReceiptID") != row.public_id:
            yield f"carries the document of receipt {document.get('consentReceiptID')}"
        elif document.get("piiPrincipalId") != row.subject_public_id:
            yield f"of subject {row.subject_public_id} carries a document of subject {document.get('piiPrincipalId')}"
        elif document.get("issuedAt") != format_time(row.issued_at):
            yield f"was issued at {format_time(row.issued_at)} but its document says {document.get('issuedAt')}"
        if row.jws and signed_payload(row.jws) != row.document:
            yield "carries a document its signature does not cover"
        if not row.jws and self._first_signed is not None and row.id > self._first_signed:
            yield "is unsigned, though receipts before it were signed"

    def _note_policy(self, document: dict) -> None:
        policy = document.get("policyVersion") or {}
        if policy.get("label") and policy.get("textHash"):
            self.signed_texts.add((policy["label"], policy.get("textLocale"), policy["textHash"]))

    def _anchor(self, receipt, chain: Chain | None) -> None:
        """The newest receipt's signed events must all be in the chain, as signed."""
        self.heads.checked += 1
        document = self._signed_document(receipt)
        if document is None:
            return
        self._note_policy(document)
        events = chain.events if chain else []
        held = {event.public_id: event.hash for event in events}
        missing = [e for e in document.get("events") or () if held.get(e.get("id")) != e.get("hash")]
        if not missing:
            return
        subject = receipt.subject_public_id
        last = max(missing, key=lambda e: e.get("seq") or 0)
        signed = f"receipt {receipt.public_id} signed event {last.get('id')} (#{last.get('seq')})"
        if not events:
            self.heads.found(f"chain of subject {subject} truncated to nothing: {signed}")
        elif (last.get("seq") or 0) > events[-1].seq:
            head = events[-1]
            self.heads.found(f"chain of subject {subject} truncated after event {head.id} (#{head.seq}): {signed}")
        else:
            self.heads.found(f"chain of subject {subject}: event {last.get('id')} (#{last.get('seq')}) "
                             f"is not the one receipt {receipt.public_id} signed")

    def _signed_document(self, receipt) -> dict | None:
        """The document the receipt's signature covers (checked), or None with the receipt's finding."""
        if not receipt.jws:
            # Issued before receipts were signed (or it lost its JWS: a finding of the row's).
            return json.loads(receipt.document)
        try:
            document = verify_receipt(receipt.jws, self._keys).document
        except ReceiptInvalid as exc:
            self.receipts.found(f"receipt {receipt.public_id}: {exc}")
            return None
        if document.get("consentReceiptID") != receipt.public_id:
            return None  # the row's finding: it carries another receipt's document or signature
        return document


def check_policy_texts(session: Session, signed_texts: set) -> Check:
    """Re-hash every policy text: it must hash to its stored SHA-256 and to what receipts signed."""
    check = Check("policy texts")
    rehashed = {}
    rows = session.execute(select(PolicyVersion.label, PolicyText.locale, PolicyText.body, PolicyText.sha256)
                           .join(PolicyVersion, PolicyVersion.id == PolicyText.policy_version_id)
                           .order_by(PolicyText.id))
    for label, locale, body, stored in rows:
        check.checked += 1
        rehashed[(label, locale)] = digest = text_sha256(body)
        if digest != stored:
            check.found(f"policy version {label} ({locale}): the text does not hash to its stored SHA-256")
    for label, locale, signed in sorted(signed_texts, key=lambda t: tuple(str(x) for x in t)):
        digest = rehashed.get((label, locale))
        if digest is None:
            check.found(f"policy version {label} ({locale}): receipts signed a text that is not stored")
        elif digest != signed:
            check.found(f"policy version {label} ({locale}): receipts signed the hash {signed}, "
                        f"the text now hashes to {digest}")
    return check
