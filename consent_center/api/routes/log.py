"""The transparency log for auditors' tools: RFC 9162 proofs against signed checkpoints."""
from __future__ import annotations

import base64

from consent_center.api import log_schemas as schemas
from consent_center.api.endpoints import endpoint
from consent_center.api.routes.common import field_problem
from consent_center.extensions import db
from consent_center.ledger.checkpoints import (
    all_checkpoints,
    checkpoint_of_size,
    latest_checkpoint,
    origin,
    verifiers,
)
from consent_center.ledger.transparency import (
    NotInLog,
    consistency_proof,
    inclusion_proof,
    log_size,
)
from consent_center.web.problems import Problem


def _b64(digest: bytes) -> str:
    return base64.b64encode(digest).decode()


def _note(size: int) -> str | None:
    found = checkpoint_of_size(db.session, size)
    return found.note if found else None


@endpoint("/log/inclusion", scope="audit:read", tag="Audit", query=schemas.inclusion_query,
          response=schemas.inclusion_proof, raw=True, errors=(404,),
          summary="Proof that an event is in the transparency log")
def log_inclusion(caller, query):
    """The RFC 9162 inclusion proof of an event in the tree of `size` leaves (the latest signed
    checkpoint's size by default): verify it against that checkpoint's root hash (RFC 9162 §2.1.3.2)."""
    size = query.get("size")
    if size is None:
        latest = latest_checkpoint(db.session)
        if latest is None:
            raise Problem("not-found", "No checkpoint has been signed yet.")
        size = latest.tree_size
    elif size > log_size(db.session):
        raise field_problem("size", f"The log holds {log_size(db.session)} events.", location="query")
    try:
        proof = inclusion_proof(db.session, query["event"], size)
    except NotInLog as exc:
        raise Problem("not-found", f"{str(exc).capitalize()}.") from None
    return {"log_id": origin(), "event": proof.event, "event_hash": proof.event_hash,
            "leaf_index": proof.leaf_index, "tree_size": proof.tree_size, "leaf_hash": _b64(proof.leaf_hash),
            "inclusion_path": [_b64(h) for h in proof.path], "root_hash": _b64(proof.root),
            "checkpoint": _note(size)}


@endpoint("/log/consistency", scope="audit:read", tag="Audit", query=schemas.consistency_query,
          response=schemas.consistency_proof, raw=True,
          summary="Proof that the transparency log only grew between two sizes")
def log_consistency(caller, query):
    """The RFC 9162 consistency proof between the trees of `from` and `to` leaves
    (verify it with RFC 9162 §2.1.4.2 against the two checkpoints' root hashes)."""
    first, second = query["first"], query["second"]
    if first > second:
        raise field_problem("from", "Must not be larger than to.", location="query")
    if second > log_size(db.session):
        raise field_problem("to", f"The log holds {log_size(db.session)} events.", location="query")
    proof = consistency_proof(db.session, first, second)
    return {"log_id": origin(), "tree_size_1": first, "tree_size_2": second,
            "consistency_path": [_b64(h) for h in proof.path], "root_hash_1": _b64(proof.first_root),
            "root_hash_2": _b64(proof.second_root), "checkpoint_1": _note(first), "checkpoint_2": _note(second)}


@endpoint("/log/checkpoints", scope="audit:read", tag="Audit", response=schemas.checkpoint_list, raw=True,
          summary="Every signed checkpoint of the transparency log")
def log_checkpoints(caller):
    """Oldest first, each with its signed note; and the verifier keys that check them."""
    return {"checkpoints": [{"tree_size": c.tree_size, "root_hash": _b64(c.root_hash),
                             "created_at": c.created_at.isoformat(), "note": c.note}
                            for c in all_checkpoints(db.session)],
            "verifier_keys": [v.encode() for v in verifiers()]}
