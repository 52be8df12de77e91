"""The generic SMS provider: JSON ``{from, to, text, id, received_at}`` signed per Standard Webhooks.

Any gateway that can sign its webhooks (or a small relay in front of one)
posts here. The message id is the body's ``id``; the signature's
``webhook-id`` is the delivery's, and its timestamp sets the replay window.
"""
from __future__ import annotations

import json
from datetime import datetime

from consent_center.inbound.registry import HookRequest, Inbound, Malformed, Provider, register
from consent_center.inbound.signatures import standard_secret, verify_standard
from consent_center.inbound.sms import handle_sms
from consent_center.models import InboundHook

MAX_TEXT = 1600  # ten concatenated SMS


def verify(hook: InboundHook, request: HookRequest) -> None:
    verify_standard(hook.secret, request)


def parse(request: HookRequest) -> list[Inbound]:
    if request.content_type != "application/json":
        raise Malformed("the body must be JSON (Content-Type: application/json)")
    try:
        body = json.loads(request.body)
    except (UnicodeDecodeError, ValueError):
        raise Malformed("the body is not JSON") from None
    if not isinstance(body, dict):
        raise Malformed("the body must be a JSON object {from, to, text, id, received_at}")
    fields = {name: body.get(name) for name in ("from", "to", "text", "id", "received_at")}
    for name in ("from", "text", "id"):
        if not isinstance(fields[name], str) or (name != "text" and not fields[name].strip()):
            raise Malformed(f"'{name}' is required, as a string")
    for name in ("to", "received_at"):
        if fields[name] is not None and not isinstance(fields[name], str):
            raise Malformed(f"'{name}' is a string when given")
    if len(fields["text"]) > MAX_TEXT or len(fields["from"]) > 64 or len(fields["to"] or "") > 64:
        raise Malformed(f"'text' holds at most {MAX_TEXT} characters, 'from' and 'to' at most 64")
    return [Inbound(message_id=fields["id"].strip(), sender=fields["from"], text=fields["text"],
                    recipient=fields["to"], sent_at=_moment(fields["received_at"]))]


def _moment(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise Malformed("'received_at' is an ISO 8601 moment, e.g. 2026-12-06T20:15:00Z") from None


PROVIDER = register(Provider(kind="sms", name="generic", title="Generic SMS (Standard Webhooks)",
                             make_secret=standard_secret, verify=verify, parse=parse, handle=handle_sms))
