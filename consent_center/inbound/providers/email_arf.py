"""Abuse reports (RFC 5965 ARF) posted as they were received (``inbound/mail/arf.py`` reads them).

For a mail server or a relay that forwards the feedback loop's mailbox: the
body is the report itself (``Content-Type: message/rfc822``), the hook's
secret the password of basic auth or the ``X-Consent-Hook-Secret`` header.
The same reports can be read from files: ``flask --app wsgi suppression ingest-arf``.
"""
from __future__ import annotations

from consent_center.inbound.mail import arf
from consent_center.inbound.mail.adapter import checked, messages, shared_secret
from consent_center.inbound.mail.effects import handle_email
from consent_center.inbound.mail.feedback import authenticate_secret
from consent_center.inbound.registry import HookRequest, Inbound, Provider, register
from consent_center.models import InboundHook


def verify(hook: InboundHook, request: HookRequest) -> None:
    checked(lambda: authenticate_secret(request.headers, hook.secret))


def parse(request: HookRequest) -> list[Inbound]:
    return messages([checked(lambda: arf.parse(request.body))], request.body)


PROVIDER = register(Provider(kind="email", name="arf", title="Abuse reports (ARF, RFC 5965)",
                             make_secret=shared_secret, verify=verify, parse=parse, handle=handle_email))
