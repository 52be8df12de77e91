"""The transparency log's latest signed checkpoint and its verifier keys, at well-known addresses.

``/key`` is the active checkpoint key alone: one C2SP verifier key, what a
client decoding one key expects. ``/keys`` is every checkpoint key the
center holds, the active one first, then those retired by a rotation, one a
line: a checkpoint signed before a rotation (kept by a witness, in a receipt
download, in an export) is still verifiable from what is published.
"""
from __future__ import annotations

from flask import Blueprint, Response, abort, request

from consent_center.extensions import db
from consent_center.ledger.checkpoints import latest_checkpoint, verifier_list, verifiers

bp = Blueprint("consent_log", __name__)


def _text(body: str, max_age: int) -> Response:
    response = Response(body, mimetype="text/plain")
    response.headers["Cache-Control"] = f"public, max-age={max_age}"
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.add_etag()
    return response.make_conditional(request)


@bp.get("/.well-known/consent-log/checkpoint")
def checkpoint():
    """The latest signed checkpoint (C2SP tlog-checkpoint in a signed note)."""
    latest = latest_checkpoint(db.session)
    if latest is None:
        abort(404)
    return _text(latest.note, 10)


@bp.get("/.well-known/consent-log/key")
def key():
    """The verifier key of the active checkpoint key (C2SP signed-note verifier key)."""
    return _text(verifiers()[0].encode() + "\n", 600)


@bp.get("/.well-known/consent-log/keys")
def keys():
    """Every checkpoint verifier key, the active one first, one a line (C2SP signed-note verifier keys)."""
    return _text(verifier_list(), 600)
