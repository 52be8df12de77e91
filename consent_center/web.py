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
