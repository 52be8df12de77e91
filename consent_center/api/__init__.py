"""The JSON API under /api/v1, for marketing tools and CRMs.

Bearer API keys with scopes (auth.py), RFC 9457 problems for every error
(problems.py), marshmallow schemas (schemas.py) and an OpenAPI document
generated from them (openapi.py). The API never reads or sets the login
cookie and is exempt from CSRF: a key in a header cannot be ridden by a
cross-site form.

To add an endpoint, write a view in a module of ``routes/`` with the
``endpoint`` decorator of endpoints.py (route, method, scope, query/body/
response schemas, extra error statuses) and import that module in
``routes/__init__.py``: authentication, scope, parsing, problem answers
and its place in /api/v1/openapi.json follow from the declaration.
"""
from __future__ import annotations

from flask import Blueprint, current_app, request

from ..extensions import csrf, limiter

bp = Blueprint("api", __name__)
csrf.exempt(bp)


@bp.before_request
def _api_body_limit() -> None:
    # Bulk calls carry up to 100,000 addresses: a larger limit than forms.
    request.max_content_length = current_app.config["API_MAX_BODY"]


def _per_key_limit() -> str:
    return current_app.config["API_RATE_LIMIT"] or "1000000 per second"


def _key_of_request() -> str:
    header = request.headers.get("Authorization", "")
    return "api-key:" + header[7:18] if header[:7].lower() == "bearer " else "api-ip:" + (request.remote_addr or "-")


# Optional per-key limit (CONSENT_API_RATE_LIMIT, e.g. "600 per minute");
# off by default: the check must stay lean.
limiter.limit(_per_key_limit, key_func=_key_of_request,
              exempt_when=lambda: not current_app.config["API_RATE_LIMIT"])(bp)

from . import routes  # noqa: E402,F401  (routes attach themselves to bp)
