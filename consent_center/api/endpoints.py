"""The ``endpoint`` decorator: one declaration drives routing, checks and OpenAPI.

Each view of the API is declared once with what it needs and answers::

    @endpoint("/receipts/<receipt_id>", scope="audit:read",
              response=schemas.receipt, tag="Receipts", summary="A receipt and its signature")
    def receipt(caller, receipt_id):
        return receipts.get(db.session, receipt_id)   # raise Problem("not-found", …) if absent

The decorator registers the route on the blueprint, authenticates the
bearer key and checks ``scope``, loads ``query`` (the query string) and
``body`` (JSON, which must be ``application/json``) with their schemas into
the ``query=`` and ``body=`` arguments, and dumps the return value with
``response`` (``raw=True``: the view already built JSON-ready dicts, for
speed; tests hold them to the schema). A view may return ``Reply(data,
status, headers)`` to pick another declared status, or a ``flask.Response``
of its own, e.g. a streamed export declared with ``produces=("text/csv",
"application/x-ndjson")`` and no response schema::

    @endpoint("/export/events", scope="audit:read", tag="Audit", query=schemas.export_query,
              produces=("text/csv", "application/x-ndjson"), summary="The audit export")
    def export_events(caller, query):
        return Response(stream_with_context(export.rows(query)), mimetype=...)

The OpenAPI document
(openapi.py) is built from the same declarations, with the error answers
each endpoint can give (401/403 with a scope, 422 with a query or body,
400/413/415 with a body, 404 with a path parameter, plus ``errors``).
"""
from __future__ import annotations

import inspect
import json
import re
from dataclasses import dataclass, field
from functools import wraps
from typing import Any, Callable

from flask import Response, request
from marshmallow import Schema, ValidationError

from consent_center.api import bp
from consent_center.api.auth import authenticate, require_scope
from consent_center.web.problems import Problem, validation_problem

JSON_MEDIA_TYPE = "application/json"


@dataclass
class Reply:
    """A view's answer with a status (one of the endpoint's responses) and headers."""

    data: Any
    status: int | None = None
    headers: dict = field(default_factory=dict)


@dataclass
class Endpoint:
    rule: str
    method: str
    name: str
    summary: str
    description: str
    tag: str
    scope: str | None
    query: Schema | None
    body: Schema | None
    responses: dict[int, Schema | None]
    errors: tuple[int, ...]
    raw: bool
    path_params: tuple[str, ...]
    produces: tuple[str, ...] = (JSON_MEDIA_TYPE,)

    @property
    def openapi_path(self) -> str:
        return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", self.rule)

    def error_statuses(self) -> list[int]:
        statuses = set(self.errors)
        if self.scope:
            statuses |= {401, 403, 429}
        if self.query is not None or self.body is not None:
            statuses.add(422)
        if self.body is not None:
            statuses |= {400, 413, 415}
        if self.path_params:
            statuses.add(404)
        return sorted(statuses)


ENDPOINTS: list[Endpoint] = []


def endpoint(rule: str, method: str = "GET", *, scope: str | None, tag: str, summary: str,
             query: Schema | None = None, body: Schema | None = None,
             response: Schema | None = None, status: int = 200,
             responses: dict[int, Schema | None] | None = None,
             errors: tuple[int, ...] = (), raw: bool = False,
             produces: tuple[str, ...] = (JSON_MEDIA_TYPE,)) -> Callable:
    """Declare an API view (see the module docstring)."""
    def decorate(view: Callable) -> Callable:
        declared = responses or {status: response}
        spec = Endpoint(
            rule=rule, method=method, name=view.__name__, summary=summary,
            description=inspect.cleandoc(view.__doc__ or ""), tag=tag, scope=scope, query=query, body=body,
            responses=declared, errors=errors, raw=raw,
            path_params=tuple(re.findall(r"<(?:[^:<>]+:)?([^<>]+)>", rule)), produces=produces,
        )
        default_status = next(iter(declared))

        @wraps(view)
        def wrapped(**path):
            kwargs = dict(path)
            if scope is not None:
                caller = authenticate()
                require_scope(caller, scope)
                kwargs["caller"] = caller
            if query is not None:
                kwargs["query"] = load_query(query)
            if body is not None:
                kwargs["body"] = load_body(body)
            result = view(**kwargs)
            if isinstance(result, Response):
                return result
            reply = result if isinstance(result, Reply) else Reply(result)
            code = reply.status or default_status
            schema = declared.get(code)
            data = reply.data if raw or schema is None else schema.dump(reply.data)
            return json_response(data, code, reply.headers)

        bp.add_url_rule(rule, endpoint=view.__name__, view_func=wrapped, methods=[method])
        ENDPOINTS.append(spec)
        return wrapped
    return decorate


def json_text(data) -> str:
    """An answer's JSON, as every endpoint writes it (the lean check too)."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def json_response(data, status: int = 200, headers: dict | None = None) -> Response:
    return Response(json_text(data), status=status, headers=headers, mimetype=JSON_MEDIA_TYPE)


def load_query(schema: Schema) -> dict:
    quick_load = getattr(schema, "quick_load", None)
    loaded = quick_load(request.args) if quick_load is not None else None
    if loaded is not None:
        return loaded
    try:
        return schema.load(request.args.to_dict())
    except ValidationError as exc:
        raise validation_problem(exc.messages, location="query") from None


def _no_constants(name: str):
    raise ValueError(f"{name} is not valid JSON")


# JSON may escape half of a UTF-16 pair alone; Python decodes it to a string no
# encoder, database or answer can carry. Only a body with such an escape is looked at.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89abcdefABCDEF]")


def _holds_lone_surrogate(data) -> bool:
    try:
        json.dumps(data, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def load_body(schema: Schema) -> dict:
    """Load the JSON body with ``schema``: 415, 400 or 422 problems otherwise."""
    if not request.is_json:
        raise Problem("unsupported-media-type",
                      f"Send the body as {JSON_MEDIA_TYPE} (got {request.mimetype or 'no Content-Type'}).")
    raw = request.get_data(cache=False)
    try:
        data = json.loads(raw, parse_constant=_no_constants)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise Problem("malformed-request", f"The body is not valid JSON: {exc}.") from None
    if _SURROGATE_ESCAPE.search(raw) and _holds_lone_surrogate(data):
        raise Problem("malformed-request", "The body holds a lone UTF-16 surrogate (an unpaired \\uD800-\\uDFFF "
                                           "escape): that is not text.")
    if not isinstance(data, dict):
        raise Problem("validation-error", "The body must be a JSON object.",
                      errors=[{"pointer": "", "detail": "Not a JSON object."}])
    try:
        return schema.load(data)
    except ValidationError as exc:
        raise validation_problem(exc.messages) from None
