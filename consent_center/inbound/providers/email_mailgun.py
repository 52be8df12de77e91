"""Mailgun's webhooks (``inbound/mail/mailgun.py`` reads them).

The hook's secret is Mailgun's HTTP webhook signing key (Sending > Webhooks),
given with ``--secret``. The signature covers a timestamp and a token, not
the event: a message is kept under its token, so a token seen once on this
hook changes nothing again, whatever event data comes with it.
"""
from __future__ import annotations

from consent_center.inbound.mail import mailgun
from consent_center.inbound.mail.adapter import checked, fresh, messages
from consent_center.inbound.mail.effects import handle_email
from consent_center.inbound.registry import HookRequest, Inbound, Provider, SecretError, register
from consent_center.models import InboundHook


def signing_key(given: str | None) -> str:
    key = (given or "").strip()
    if len(key) < 16 or any(c.isspace() for c in key):
        raise SecretError("give Mailgun's HTTP webhook signing key (Sending > Webhooks)")
    return key


def verify(hook: InboundHook, request: HookRequest) -> None:
    signature, event = checked(lambda: mailgun.read(request.body))
    checked(lambda: mailgun.verify(signature, hook.secret))
    fresh([checked(lambda: mailgun.parse(signature, event))], request)


def parse(request: HookRequest) -> list[Inbound]:
    signature, event = checked(lambda: mailgun.read(request.body))
    return messages([checked(lambda: mailgun.parse(signature, event))], request.body)


PROVIDER = register(Provider(kind="email", name="mailgun", title="Mailgun (signed webhooks)",
                             make_secret=signing_key, verify=verify, parse=parse, handle=handle_email,
                             secret_given=True))
