"""Error pages: every failure answers with a page in the visitor's language.

Under /api/ the same failures answer RFC 9457 problem details instead
(api/problems.py): a program asked, not a person.
"""
from __future__ import annotations

from flask import Flask, render_template
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from .api.problems import http_problem, is_api_request
from .api.problems import register as register_problems
from .extensions import db


def register(app: Flask) -> None:
    register_problems(app)

    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError):
        db.session.rollback()
        if is_api_request():
            return http_problem(error)
        return render_template("errors/error.html", code=400, reason="csrf"), 400

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        db.session.rollback()
        if is_api_request():
            return http_problem(error)
        return render_template("errors/error.html", code=error.code, reason=None), error.code
