"""Postmark's bounce, spam complaint and delivery webhooks (``inbound/mail/postmark.py`` reads them).

Postmark signs nothing: the hook's secret is the password of the basic auth
credentials in the webhook's URL (or the value of ``X-Consent-Hook-Secret``,
a custom header set on the webhook). No signed moment: a record sent again
carries its ID, already seen.
"""
from __future__ import annotations

from consent_center.inbound.mail import postmark
from consent_center.inbound.mail.adapter import checked, messages, shared_secret
from consent_center.inbound.mail.effects import handle_email
from consent_center.inbound.mail.feedback import authenticate_secret
from consent_center.inbound.registry import HookRequest, Inbound, Provider, register
from consent_center.models import InboundHook


def verify(hook: InboundHook, request: HookRequest) -> None:
    checked(lambda: authenticate_secret(request.headers, hook.secret))


def parse(request: HookRequest) -> list[Inbound]:
    return messages([checked(lambda: postmark.parse(request.body))], request.body)


PROVIDER = register(Provider(kind="email", name="postmark", title="Postmark (bounces, spam complaints)",
                             make_secret=shared_secret, verify=verify, parse=parse, handle=handle_email))
