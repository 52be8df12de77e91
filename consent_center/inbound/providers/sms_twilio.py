"""Twilio Messaging: form-encoded webhooks signed ``X-Twilio-Signature``, answered with TwiML.

The signature is base64 of HMAC-SHA1(the account's auth token, the URL
Twilio called + every POST parameter, sorted by name, as name then value).
The URL is the hook's public one, from ``CONSENT_BASE_URL`` (behind a
proxy, the app never sees the address Twilio called). Twilio signs no
timestamp: a request replayed as it was carries a ``MessageSid`` already
seen, and changes nothing.

Nothing separates the names and values Twilio signs, so one signed request
can be cut anew into other parameters that sign the same text: the tail of
``MessageSid`` made a name (a lowercase letter sorts after every other
name) whose value is every later parameter run together, and ``MessageSid``
is an id never seen. ``check_shape`` refuses what Twilio never writes: a
name other than ``Capitalised`` letters and digits or one given twice, a message SID other
than SM or MM and 32 lowercase hexadecimal digits, ``SmsSid`` or
``SmsMessageSid`` other than it, an account SID other than AC and 32.
Every cut of a signed request then breaks one of these.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import re
from urllib.parse import urlsplit, urlunsplit
from xml.sax.saxutils import escape

from consent_center.inbound.registry import (HookRequest, Inbound, Malformed, Provider, Result, SecretError,
                                             Unauthenticated, register, same)
from consent_center.inbound.sms import handle_sms
from consent_center.models import InboundHook

DEFAULT_PORTS = {"https": 443, "http": 80}
MAX_TEXT = 1600
# As Twilio writes them (twilio.com/docs/glossary/what-is-a-sid: two letters and 32 hexadecimal digits,
# lowercase in every request it sends); a message is SM (SMS) or MM (MMS).
NAME = re.compile(r"[A-Z][A-Za-z0-9]*")
MESSAGE_SID = re.compile(r"(SM|MM)[0-9a-f]{32}")
ACCOUNT_SID = re.compile(r"AC[0-9a-f]{32}")


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
    check_shape(request)


def check_shape(request: HookRequest) -> None:
    """Refuse parameters Twilio never writes: the only way to sign them is to cut a signed request anew.

    Unauthenticated, not Malformed: such a request is a forgery made of a
    genuine signature, and counts as a failed authentication.
    """
    names = [name for name, _ in request.form_pairs]
    if not all(NAME.fullmatch(name) for name in names) or len(set(names)) != len(names):
        raise Unauthenticated("a parameter name Twilio never writes (a capital, then letters and digits, "
                              "each once): the signed parameters were cut anew")
    form = request.form
    sid = form.get("MessageSid", "")
    if not MESSAGE_SID.fullmatch(sid):
        raise Unauthenticated("MessageSid is not a Twilio message SID (SM or MM and 32 lowercase hexadecimal "
                              "digits): the signed parameters were cut anew")
    if any(form.get(name, sid) != sid for name in ("SmsSid", "SmsMessageSid")):
        raise Unauthenticated("SmsSid and SmsMessageSid differ from MessageSid: the signed parameters were cut anew")
    if "AccountSid" in form and not ACCOUNT_SID.fullmatch(form["AccountSid"]):
        raise Unauthenticated("AccountSid is not a Twilio account SID: the signed parameters were cut anew")


def parse(request: HookRequest) -> list[Inbound]:
    form = request.form
    message_id = form.get("MessageSid", "")  # its form checked by verify (check_shape)
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
