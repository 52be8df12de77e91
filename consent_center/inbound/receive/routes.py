"""The hooks' one route: read the request as its provider signed it, run the pipeline, answer.

Errors answer RFC 9457 problem details (``/hooks/`` is an API path for the
error handlers), and nothing is written: the boundary rolls back any 4xx.

Two limits, counted by hand rather than by a decorator, because what they
count is known only once the hook is found and the signature checked:

- failed authentications (no such hook, a signature that does not match,
  a body too large to be read before either) per client address, whatever hook id the path names
  (``CONSENT_HOOK_AUTH_FAILURE_LIMIT``): once over, the address is refused
  before the database is asked anything;
- requests correctly signed, per hook (``CONSENT_HOOK_RATE_LIMIT``): garbage
  posted to a hook's URL never uses up what its provider may send.
"""
from __future__ import annotations

import json
from datetime import timedelta
from urllib.parse import parse_qsl

from flask import Response, current_app, request
from limits import parse as parse_limit

from consent_center.clock import utcnow
from consent_center.extensions import db, limiter
from consent_center.inbound.pipeline import receive as receive_messages
from consent_center.inbound.receive import bp
from consent_center.inbound.registry import HookError, HookRequest, Result, Unauthenticated, UnknownHook
from consent_center.models import InboundHook
from consent_center.web.problems import TYPE_PREFIX, TYPES, problem_response


@bp.post("/hooks/<kind>/<provider>/<hook_id>")
def receive(kind: str, provider: str, hook_id: str):
    try:
        _refuse_if_failing()
        hook_request = _read()
        found, result = receive_messages(db.session, kind, provider, hook_id, hook_request,
                                         on_verified=_count_for_hook)
    except HookError as error:
        db.session.rollback()
        if isinstance(error, (UnknownHook, Unauthenticated, _TooLarge)):
            _count_failure()
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


class _RateLimited(HookError):
    status = 429
    kind = "rate-limited"

    def __init__(self, detail: str, retry_after: int) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


FAILURES = "hook-auth-failures"
PER_HOOK = "hook"


def _client() -> str:
    return request.remote_addr or "-"


def _refuse_if_failing() -> None:
    """429 for an address over its failed authentications, before the hook is even looked up."""
    setting = current_app.config["HOOK_AUTH_FAILURE_LIMIT"]
    if limiter.enabled and not limiter.limiter.test(parse_limit(setting), FAILURES, _client()):
        raise _RateLimited(f"too many failed authentications from your address ({setting}; "
                           "CONSENT_HOOK_AUTH_FAILURE_LIMIT)", _retry(parse_limit(setting), FAILURES, _client()))


def _count_failure() -> None:
    if limiter.enabled:
        limiter.limiter.hit(parse_limit(current_app.config["HOOK_AUTH_FAILURE_LIMIT"]), FAILURES, _client())


def _count_for_hook(hook: InboundHook) -> None:
    """Called once the signature is good, before anything is written: 429 when the hook is over its limit."""
    setting = current_app.config["HOOK_RATE_LIMIT"]
    if limiter.enabled and not limiter.limiter.hit(parse_limit(setting), PER_HOOK, hook.public_id):
        raise _RateLimited(f"this hook's limit ({setting}; CONSENT_HOOK_RATE_LIMIT) is reached",
                           _retry(parse_limit(setting), PER_HOOK, hook.public_id))


def _retry(item, *key: str) -> int:
    return max(1, int(limiter.limiter.get_window_stats(item, *key).reset_time - utcnow().timestamp()))


def _problem(error: HookError) -> Response:
    title = TYPES[error.kind][1] if error.kind in TYPES else "Refused"
    retry = getattr(error, "retry_after", None)
    return problem_response({"type": TYPE_PREFIX + error.kind, "title": title, "status": error.status,
                             "detail": error.detail}, headers={"Retry-After": str(retry)} if retry else None)
