"""Error pages: every failure answers with a page in the visitor's language.

Under /api/ the same failures answer RFC 9457 problem details instead
(api/problems.py): a program asked, not a person.
"""
from __future__ import annotations

from flask import Flask, g, render_template
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException

from consent_center.web.problems import TYPE_PREFIX, http_problem, is_api_request, problem_response
from consent_center.web.problems import register as register_problems
from consent_center.extensions import db


def register(app: Flask) -> None:
    register_problems(app)

    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError):
        db.session.rollback()
        if is_api_request():
            return http_problem(error)
        return error_page(400, "csrf")

    @app.errorhandler(DBAPIError)
    @app.errorhandler(PoolTimeout)
    def database_unavailable(error: DBAPIError | PoolTimeout):
        # Unreachable, restarting or locked database, or every pooled connection
        # busy for the pool's timeout: nothing was committed, and the client may
        # retry. Other database errors are bugs (500).
        if not _is_unavailable(error):
            raise error
        db.session.rollback()
        app.logger.warning("database unavailable: %s", error.__class__.__name__)
        headers = {"Retry-After": "5"}
        if is_api_request():
            return problem_response({
                "type": TYPE_PREFIX + "unavailable", "title": "Service unavailable", "status": 503,
                "detail": "The database does not answer; nothing was changed. Retry in a few seconds.",
            }, headers)
        g.database_down = True  # the page must not ask the database who is logged in (load_account)
        return render_template("web/error.html", code=503, reason=None), 503, headers

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        db.session.rollback()
        if is_api_request():
            return http_problem(error)
        return error_page(error.code, None)

    def error_page(code: int, reason: str | None):
        # The page shows who is logged in, which asks the database: if that
        # is what fails, the answer is the outage's, not a 500.
        try:
            return render_template("web/error.html", code=code, reason=reason), code
        except DBAPIError as error:
            return database_unavailable(error)


def _is_unavailable(error: DBAPIError | PoolTimeout) -> bool:
    from sqlalchemy.exc import InterfaceError, OperationalError

    return isinstance(error, (PoolTimeout, OperationalError, InterfaceError)) or error.connection_invalidated


def link_invalid(retry_url: str, retry_label: str):
    """The one answer to a forged, altered, expired, used or unknown link: 404, nothing said."""
    return render_template("unsubscribe/link_invalid.html", retry_url=retry_url, retry_label=retry_label), 404
