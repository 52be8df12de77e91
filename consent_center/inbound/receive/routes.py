"""The hooks' one route: read the request as its provider signed it, run the pipeline, answer.

Errors answer RFC 9457 problem details (``/hooks/`` is an API path for the
error handlers), and nothing is written: the boundary rolls back any 4xx.
"""
from __future__ import annotations

import json
from datetime import timedelta
from urllib.parse import parse_qsl

from flask import Response, current_app, request

from consent_center.clock import utcnow
from consent_center.extensions import db, limiter
from consent_center.inbound.pipeline import receive as receive_messages
from consent_center.inbound.receive import bp
from consent_center.inbound.registry import HookError, HookRequest, Result
from consent_center.web.problems import TYPE_PREFIX, TYPES, problem_response


def _limit() -> str:
    return current_app.config["HOOK_RATE_LIMIT"]


def _hook_and_address() -> str:
    # Per hook and sender address: a stranger flooding one hook's URL does not use up its provider's allowance.
    return f"hook:{(request.view_args or {}).get('hook_id', '')[:32]}:{request.remote_addr or '-'}"


@bp.post("/hooks/<kind>/<provider>/<hook_id>")
@limiter.limit(_limit, key_func=_hook_and_address)
def receive(kind: str, provider: str, hook_id: str):
    try:
        hook_request = _read()
        found, result = receive_messages(db.session, kind, provider, hook_id, hook_request)
    except HookError as error:
        db.session.rollback()
        return _problem(error)
    body, status, headers = (found.answer or default_answer)(result)
    return Response(body, status=status, headers=headers)


def default_answer(result: Result) -> tuple[str, int, dict]:
    """``{"accepted": [...], "duplicates": [...]}``: the messages kept now, and the ids seen before."""
    body = {"accepted": [{"id": m.provider_message_id, "message": m.public_id, "outcome": m.outcome}
                         for m, _ in result.handled],
            "duplicates": result.duplicates}
    return json.dumps(body), 200, {"Content-Type": "application/json"}


def _read() -> HookRequest:
    limit = current_app.config["HOOK_MAX_BODY"]
    if request.content_length is not None and request.content_length > limit:
        raise _TooLarge(f"the body is larger than {limit} bytes (CONSENT_HOOK_MAX_BODY)")
    body = request.get_data(cache=True)
    if len(body) > limit:
        raise _TooLarge(f"the body is larger than {limit} bytes (CONSENT_HOOK_MAX_BODY)")
    pairs: tuple[tuple[str, str], ...] = ()
    if request.mimetype == "application/x-www-form-urlencoded":
        try:
            pairs = tuple(parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=bool(body),
                                    max_num_fields=1000))
        except (UnicodeDecodeError, ValueError):
            raise HookError("the form-encoded body cannot be read") from None
    form: dict[str, str] = {}
    for key, value in pairs:
        form.setdefault(key, value)
    query = request.query_string.decode("latin-1")
    return HookRequest(
        body=body, headers=request.headers, form=form, form_pairs=pairs, content_type=request.mimetype,
        public_url=current_app.config["BASE_URL"] + request.path + (f"?{query}" if query else ""),
        now=utcnow(), tolerance=timedelta(seconds=current_app.config["HOOK_TOLERANCE_SECONDS"]))


class _TooLarge(HookError):
    status = 413
    kind = "too-large"


def _problem(error: HookError) -> Response:
    title = TYPES[error.kind][1] if error.kind in TYPES else "Refused"
    return problem_response({"type": TYPE_PREFIX + error.kind, "title": title, "status": error.status,
                             "detail": error.detail})
