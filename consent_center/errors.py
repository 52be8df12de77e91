"""Error pages: every failure answers with a page in the visitor's language."""
from __future__ import annotations

from flask import Flask, render_template
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DBAPIError
from werkzeug.exceptions import HTTPException

from .extensions import db, login_manager


def register(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError):
        db.session.rollback()
        return render_template("errors/error.html", code=400, reason="csrf"), 400

    @app.errorhandler(DBAPIError)
    def database_unavailable(error: DBAPIError):
        # Unreachable, restarting or locked database: nothing was committed,
        # and the client may retry. Other database errors are bugs (500).
        if not _is_unavailable(error):
            raise error
        db.session.rollback()
        # The page must not ask the database who is logged in.
        login_manager._update_request_context_with_user(None)
        app.logger.warning("database unavailable: %s", error.__class__.__name__)
        response = render_template("errors/error.html", code=503, reason=None), 503, {"Retry-After": "5"}
        return response

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        db.session.rollback()
        return render_template("errors/error.html", code=error.code, reason=None), error.code


def _is_unavailable(error: DBAPIError) -> bool:
    from sqlalchemy.exc import InterfaceError, OperationalError

    return error.connection_invalidated or isinstance(error, (OperationalError, InterfaceError))
