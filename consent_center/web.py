"""Request boundary: one commit per request, and what every page needs."""
from __future__ import annotations

from flask import Response, current_app, request
from flask_babel import get_locale

from .extensions import db


def commit_or_rollback(response: Response) -> Response:
    """Commit what the request changed if it succeeded, else roll it back."""
    if not db.session.registry.has():
        return response  # the request never opened a session (the API's quick reads)
    if response.status_code < 400:
        db.session.commit()
    else:
        db.session.rollback()
    return response


def inject_template_globals() -> dict:
    from .labels import template_labels

    return template_labels() | {
        "company_name": current_app.config["COMPANY_NAME"],
        "current_locale": str(get_locale()),
        "supported_locales": current_app.config["SUPPORTED_LOCALES"],
        "request_path": request.path,
    }


def is_safe_redirect(target: str | None) -> bool:
    """Accept only local paths: no scheme, no host, no protocol-relative URL."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return False
    from urllib.parse import urlsplit

    parts = urlsplit(target)
    return not parts.scheme and not parts.netloc


def external_url(endpoint: str, **values) -> str:
    """Return the absolute public URL of ``endpoint``, at ``CONSENT_BASE_URL``.

    Works outside a request too (the outbox worker builds links in mail).
    """
    from flask import url_for

    with current_app.test_request_context(base_url=current_app.config["BASE_URL"]):
        return url_for(endpoint, _external=True, **values)


def protect_token_pages(response: Response) -> Response:
    """Headers for pages whose URL carries a token (unsubscribe, confirmation, reset).

    The token must not leak through the Referer of a link followed from the
    page, nor sit in a shared cache or a search index. (Framing is refused
    on every page by ``security.apply_security_headers``, which runs after
    and keeps these.) Registered as ``after_request`` by the blueprints
    that have such pages.
    """
    if "token" not in (request.view_args or {}):
        return response
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    return response
