"""Twilio Messaging: form-encoded webhooks signed ``X-Twilio-Signature``, answered with TwiML.

The signature is base64 of HMAC-SHA1(the account's auth token, the URL
Twilio called + every POST parameter, sorted by name, as name then value).
The URL is the hook's public one, from ``CONSENT_BASE_URL`` (behind a
proxy, the app never sees the address Twilio called). Twilio signs no
timestamp: a request replayed as it was carries a ``MessageSid`` already
seen, and changes nothing.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
from urllib.parse import urlsplit, urlunsplit
from xml.sax.saxutils import escape

from consent_center.inbound.registry import (HookRequest, Inbound, Malformed, Provider, Result, SecretError,
                                             Unauthenticated, register, same)
from consent_center.inbound.sms import handle_sms
from consent_center.models import InboundHook

DEFAULT_PORTS = {"https": 443, "http": 80}
MAX_TEXT = 1600


def auth_token(given: str | None) -> str:
    """Twilio's auth token (32 hexadecimal characters), given by the operator: it signs, the center verifies."""
    token = (given or "").strip()
    if len(token) < 16 or not token.isalnum():
        raise SecretError("give the Twilio account's auth token (Console > Account info), letters and digits")
    return token


def signature(token: str, url: str, pairs) -> str:
    """Twilio's signature of a POST to ``url`` with the (name, value) ``pairs``, as its helper libraries compute it."""
    by_name: dict[str, set[str]] = {}
    for name, value in pairs:
        by_name.setdefault(name, set()).add(value)
    signed = url + "".join(name + value for name in sorted(by_name) for value in sorted(by_name[name]))
    return base64.b64encode(hmac.new(token.encode(), signed.encode("utf-8"), hashlib.sha1).digest()).decode()


def _urls(url: str) -> list[str]:
    """The URL as given, without its default port, and with it: Twilio signs the one it called."""
    parts = urlsplit(url)
    default = DEFAULT_PORTS.get(parts.scheme)
    host = parts.hostname or ""
    bare = urlunsplit(parts._replace(netloc=host))
    with_port = urlunsplit(parts._replace(netloc=f"{host}:{parts.port or default}"))
    return list(dict.fromkeys([url, bare if parts.port in (None, default) else url, with_port]))


def verify(hook: InboundHook, request: HookRequest) -> None:
    given = request.headers.get("X-Twilio-Signature", "")
    if not given:
        raise Unauthenticated("unsigned: the X-Twilio-Signature header is required")
    if request.content_type != "application/x-www-form-urlencoded":
        raise Unauthenticated("Twilio signs form-encoded posts: the body must be application/x-www-form-urlencoded")
    if not any(same(signature(hook.secret, url, request.form_pairs), given) for url in _urls(request.public_url)):
        raise Unauthenticated("the signature does not match: another auth token, another URL than "
                              "CONSENT_BASE_URL's, or a changed body")


def parse(request: HookRequest) -> list[Inbound]:
    form = request.form
    message_id = form.get("MessageSid") or form.get("SmsSid") or ""
    if not message_id or not form.get("From") or "Body" not in form:
        raise Malformed("a Twilio message carries MessageSid, From and Body")
    if len(form["Body"]) > MAX_TEXT or len(form["From"]) > 64 or len(form.get("To", "")) > 64:
        raise Malformed(f"'Body' holds at most {MAX_TEXT} characters, 'From' and 'To' at most 64")
    return [Inbound(message_id=message_id, sender=form["From"], text=form["Body"], recipient=form.get("To"))]


def answer(result: Result) -> tuple[str, int, dict]:
    """TwiML: the confirmation texted back; nothing for a message seen before (no second confirmation)."""
    replies = "".join(f"<Message>{escape(handled.reply)}</Message>" for _, handled in result.handled if handled.reply)
    return (f'<?xml version="1.0" encoding="UTF-8"?><Response>{replies}</Response>', 200,
            {"Content-Type": "text/xml; charset=utf-8"})


PROVIDER = register(Provider(kind="sms", name="twilio", title="Twilio", make_secret=auth_token, verify=verify,
                             parse=parse, handle=handle_sms, answer=answer, secret_given=True))
