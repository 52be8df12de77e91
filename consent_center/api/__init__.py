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

from flask import Blueprint, Flask, current_app, request
from flask.sessions import SecureCookieSessionInterface

from consent_center.extensions import csrf, limiter

PREFIX = "/api/v1"
bp = Blueprint("api", __name__)
csrf.exempt(bp)


class CookielessApiSessions(SecureCookieSessionInterface):
    """The login cookie is not even decoded under /api/, and never set there."""

    def open_session(self, app, request):
        if _is_api_path(request.path):
            return self.session_class()
        return super().open_session(app, request)

    def save_session(self, app, session, response) -> None:
        from flask import request as current_request

        if _is_api_path(current_request.path):
            return
        super().save_session(app, session, response)


def _is_api_path(path: str) -> bool:
    return path == "/api" or path.startswith("/api/")


def init_app(app: Flask) -> None:
    """Mount the API at /api/v1, with sessions that leave it alone."""
    app.register_blueprint(bp, url_prefix=PREFIX)
    app.session_interface = CookielessApiSessions()


@bp.before_request
def _api_body_limit() -> None:
    # Bulk calls carry up to 100,000 addresses: a larger limit than forms.
    request.max_content_length = current_app.config["API_MAX_BODY"]


# Rate limits are applied by auth.py, where the key is known, and only when
# configured. Exempt, and filtered out before Flask-Limiter resolves any limit
# or exemption scope for the request (its public ``request_filter``): the
# resolution would cost the check more than its database query.
limiter.exempt(bp)


@limiter.request_filter
def _limited_per_key_not_here() -> bool:
    return _is_api_path(request.path)

from consent_center.api import routes  # noqa: E402,F401  (routes attach themselves to bp)
