"""The transparency log's latest signed checkpoint and its verifier key, at well-known addresses."""
from __future__ import annotations

from flask import Blueprint, Response, abort, request

from consent_center.extensions import db
from consent_center.ledger.checkpoints import latest_checkpoint, verifiers

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
