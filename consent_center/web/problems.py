"""RFC 9457 problem details: every error under /api/ answers with one.

A problem is ``{"type", "title", "status", "detail"}`` sent as
``application/problem+json``; a validation problem adds ``errors``, a list
of ``{"pointer": "/emails/3", "detail": …}`` (JSON Pointer into the body) or
``{"parameter": "channel", "detail": …}`` (a query or path parameter), as in
RFC 9457's own example. ``type`` is a URN naming the kind of problem
(docs/api.md lists them), or ``about:blank`` when the HTTP status says it all.
Messages are in English: the API speaks to programs and their developers.
"""
from __future__ import annotations

import json

from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException
from werkzeug.http import HTTP_STATUS_CODES

PROBLEM_MEDIA_TYPE = "application/problem+json"
TYPE_PREFIX = "urn:consent-center:problem:"

# The problem types of this API: slug -> (status, title).
TYPES = {
    "validation-error": (422, "Your request is not valid"),
    "malformed-request": (400, "Malformed request"),
    "future-moment": (400, "A moment in the future"),
    "unauthenticated": (401, "Authentication required"),
    "forbidden-scope": (403, "Missing scope"),
    "not-found": (404, "Not found"),
    "conflict": (409, "Conflict"),
    "restricted": (409, "Processing restricted"),
    "erased": (409, "Subject erased"),
    "hook-revoked": (410, "Hook revoked"),
    "too-large": (413, "Request too large"),
    "unsupported-media-type": (415, "Unsupported media type"),
    "rate-limited": (429, "Too many requests"),
    "unavailable": (503, "Service unavailable"),
}


class Problem(Exception):
    """Raise to answer a problem; the transaction is rolled back."""

    def __init__(self, kind: str, detail: str, *, errors: list[dict] | None = None,
                 headers: dict | None = None, status: int | None = None) -> None:
        super().__init__(detail)
        self.kind = kind
        self.detail = detail
        self.errors = errors
        self.headers = headers or {}
        self.status = status or TYPES[kind][0]

    def body(self) -> dict:
        body = {"type": TYPE_PREFIX + self.kind, "title": TYPES[self.kind][1],
                "status": self.status, "detail": self.detail}
        if self.errors is not None:
            body["errors"] = self.errors
        return body


def problem_response(body: dict, headers: dict | None = None) -> Response:
    response = Response(json.dumps(body, ensure_ascii=False), status=body["status"],
                        mimetype=PROBLEM_MEDIA_TYPE)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def validation_problem(messages, *, location: str = "body", detail: str | None = None) -> Problem:
    """Turn marshmallow's nested messages into a 422 problem with ``errors``."""
    errors = flatten_messages(messages, location)
    if detail is None:
        first = errors[0] if errors else None
        where = first and (first.get("parameter") or first.get("pointer") or "")
        detail = f"{where}: {first['detail']}" if first else "The request is not valid."
        if len(errors) > 1:
            detail += f" (and {len(errors) - 1} more)"
    return Problem("validation-error", detail, errors=errors)


def flatten_messages(messages, location: str = "body", path: tuple = ()) -> list[dict]:
    """Return ``[{"pointer"|"parameter": …, "detail": …}]`` from marshmallow messages."""
    out: list[dict] = []
    if isinstance(messages, dict):
        for key, value in messages.items():
            sub = path if key == "_schema" else (*path, key)
            out.extend(flatten_messages(value, location, sub))
    elif isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        for message in messages:
            out.append(_error(location, path, message))
    elif isinstance(messages, list):
        for item in messages:
            out.extend(flatten_messages(item, location, path))
    else:
        out.append(_error(location, path, str(messages)))
    return out


def _error(location: str, path: tuple, message: str) -> dict:
    if location == "body":
        pointer = "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in path)
        return {"pointer": pointer, "detail": message}
    return {"parameter": ".".join(str(p) for p in path), "detail": message}


def http_problem(error: HTTPException) -> Response:
    """The problem for an HTTP error raised by Flask, Werkzeug or an extension."""
    code = error.code or 500
    kind = {400: "malformed-request", 401: "unauthenticated", 404: "not-found",
            413: "too-large", 415: "unsupported-media-type", 429: "rate-limited"}.get(code)
    detail = _DETAILS.get(code) or error.description or HTTP_STATUS_CODES.get(code, "Error")
    if code == 405:
        detail = f"{request.method} is not allowed here; allowed: {', '.join(error.valid_methods or [])}."
    if code == 429 and error.description:
        detail = f"Rate limit exceeded ({error.description}); wait before trying again."
    body = {"type": TYPE_PREFIX + kind if kind else "about:blank",
            "title": TYPES[kind][1] if kind else HTTP_STATUS_CODES.get(code, "Error"),
            "status": code, "detail": detail}
    headers = {}
    if code == 405 and error.valid_methods:
        headers["Allow"] = ", ".join(error.valid_methods)
    response = error.get_response() if code == 429 else None
    if response is not None and "Retry-After" in response.headers:
        headers["Retry-After"] = response.headers["Retry-After"]
    return problem_response(body, headers)


_DETAILS = {
    404: ("There is nothing at this address. The API's endpoints are listed at /api/v1/openapi.json, "
          "and described for people at /api/v1/docs."),
    413: "The request body is larger than this server accepts.",
    500: "The server failed to answer; nothing was written. Try again later.",
}


def is_api_request() -> bool:
    """The API, and the inbound hooks providers post to: programs, answered with problems."""
    return request.path == "/api" or request.path.startswith(("/api/", "/hooks/"))  # as api._is_api_path


def register(app: Flask) -> None:
    """Answer ``Problem`` everywhere (it is raised only by the API)."""

    @app.errorhandler(Problem)
    def _problem(error: Problem):
        from consent_center.extensions import db

        db.session.rollback()
        return problem_response(error.body(), error.headers)
