"""The public keys that verify consent receipts, at the well-known address."""
from __future__ import annotations

from flask import Blueprint, jsonify, request

from consent_center.receipts.keys import key_ring

bp = Blueprint("jwks", __name__)


@bp.get("/.well-known/jwks.json")
def jwks():
    """Every receipt key, retired ones included; cacheable, with an ETag."""
    response = jsonify(key_ring().jwks())
    response.headers["Cache-Control"] = "public, max-age=600"
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.add_etag()
    return response.make_conditional(request)
