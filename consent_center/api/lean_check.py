"""The single consent check through a door of its own, without Flask's request machinery.

A marketing tool asks ``GET /api/v1/check?channel=…&email=…`` before each
message. Flask's request context, routing, hooks and response object cost
that call several times its database work, so this WSGI layer answers the
common, successful form of the check itself. It serves a query
``quick_load`` accepts (by e-mail or subject id, no ``at``), a known
channel, and a key this process holds fresh (``auth.known_caller``) with
the scope. It runs through the functions the view calls, with the headers
every answer carries. Anything else goes to Flask, which answers it as
before: an error, a key to look up, a last use to write, a phone number, a
moment, or a per-key limit reached. A call is counted against that limit
once, before the database is asked, and Flask reads the verdict. Flask
answers the database's trouble met here without asking again (the view
raises it, ``auth.LEAN_CHECK_ERROR``), except a connection gone stale, which
is worth its one more try.
``tests/test_lean_check.py`` holds the two doors to the same answers.
"""
from __future__ import annotations

import logging
from urllib.parse import parse_qsl

from flask import Flask
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from consent_center.api import PREFIX, auth, check_schemas
from consent_center.api.endpoints import JSON_MEDIA_TYPE, json_text
from consent_center.api.routes.common import READ_FROM_HEADER, read_connection
from consent_center.check import service as checks
from consent_center.check.channels import channel_id
from consent_center.check.lookup_addresses import normalise_for_lookup
from consent_center.web.security import EVERY_RESPONSE, HSTS

log = logging.getLogger(__name__)
PATH = f"{PREFIX}/check"
SCOPE = "consent:read"


class LeanCheck:
    """WSGI middleware: the check's common form answered here, every other request by ``flask_app``."""

    def __init__(self, app: Flask, flask_app) -> None:
        self.app = app
        self.flask_app = flask_app

    def __call__(self, environ, start_response):
        if (environ.get("PATH_INFO") != PATH or environ.get("REQUEST_METHOD") != "GET"
                or environ.get("wsgi.url_scheme") not in ("http", "https")):
            return self.flask_app(environ, start_response)
        try:
            with self.app.app_context():
                answer = self.answer(environ)
        except DBAPIError as error:
            # A connection gone stale (the database restarted) is worth Flask's one more try;
            # any other trouble is answered by Flask without asking the database again.
            if not error.connection_invalidated:
                environ[auth.LEAN_CHECK_ERROR] = error
            answer = None
        except SQLAlchemyError as error:  # the pool's timeout: asking again would wait as long again
            environ[auth.LEAN_CHECK_ERROR] = error
            answer = None
        except Exception:  # a fault of this door: said, and the request answered by Flask all the same
            log.exception("the lean check failed; Flask answers instead")
            answer = None
        if answer is None:
            return self.flask_app(environ, start_response)
        body, headers = answer
        start_response("200 OK", headers)
        return [body]

    def answer(self, environ) -> tuple[bytes, list[tuple[str, str]]] | None:
        caller = auth.known_caller(environ.get("HTTP_AUTHORIZATION", ""))
        if caller is None or SCOPE not in caller.scopes:
            return None
        query = _query(environ)
        loaded = check_schemas.check_query.quick_load(query) if query is not None else None
        if loaded is None or "phone" in loaded:
            return None
        email = loaded.get("email")
        if email is not None:
            email = normalise_for_lookup(email)
            if email is None:
                return None
        if self.app.config["API_RATE_LIMIT"]:
            # Counted before the database is asked, once: Flask, if it answers after all, reads the verdict.
            allowed = environ[auth.CALL_COUNTED] = auth.within_rate_limit(caller.prefix)
            if not allowed:
                return None
        channel = loaded["channel"]
        with read_connection(loaded.get("after")) as (connection, source):
            channel_pk = channel_id(connection, channel)
            if channel_pk is None:
                return None
            result = checks.check_one(connection, channel, channel_pk, email=email, subject=loaded.get("subject"))
        body = json_text(result).encode()
        headers = [("Content-Type", JSON_MEDIA_TYPE), ("Content-Length", str(len(body))), *EVERY_RESPONSE]
        if environ["wsgi.url_scheme"] == "https":
            headers.append(HSTS)
        if source is not None:
            headers.append((READ_FROM_HEADER, source))
        return body, headers


def _query(environ) -> dict[str, str] | None:
    """The query string's parameters as ``request.args`` reads them; None where a name repeats."""
    try:
        raw = environ.get("QUERY_STRING", "").encode("latin-1").decode()
    except UnicodeError:
        return None  # not UTF-8: Flask answers it (a 400)
    pairs = parse_qsl(raw, keep_blank_values=True, errors="werkzeug.url_quote")
    query = dict(pairs)
    return query if len(query) == len(pairs) else None


def install(app: Flask) -> None:
    """Put the lean check in front of the app (before any proxy fix, which then wraps it)."""
    app.wsgi_app = LeanCheck(app, app.wsgi_app)
