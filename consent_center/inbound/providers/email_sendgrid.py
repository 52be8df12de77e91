"""SendGrid's signed Event Webhook (``inbound/mail/sendgrid.py`` reads it).

The hook's secret is the verification key SendGrid shows once signing is
turned on (Mail Settings > Event Webhook > Signature Verification): given
with ``--secret``; the center holds no private key.
"""
from __future__ import annotations

from consent_center.inbound.mail import sendgrid
from consent_center.inbound.mail.adapter import checked, fresh, messages
from consent_center.inbound.mail.effects import handle_email
from consent_center.inbound.registry import HookRequest, Inbound, Provider, SecretError, register
from consent_center.models import InboundHook


def verification_key(given: str | None) -> str:
    """SendGrid's verification key (base64 DER, as shown, or PEM); SecretError when it is not a P-256 key."""
    try:
        sendgrid.load_key(given or "")
    except ValueError:
        raise SecretError("give SendGrid's verification key (an ECDSA P-256 public key, base64 as SendGrid "
                          "shows it, or PEM)") from None
    return (given or "").strip()


def verify(hook: InboundHook, request: HookRequest) -> None:
    checked(lambda: sendgrid.verify(request.headers, request.body, sendgrid.load_key(hook.secret)))
    # Signed, so the timestamp header is SendGrid's: now it may say whether the request is recent.
    fresh(checked(lambda: sendgrid.parse(request.headers, request.body)), request)


def parse(request: HookRequest) -> list[Inbound]:
    return messages(checked(lambda: sendgrid.parse(request.headers, request.body)), request.body)


PROVIDER = register(Provider(kind="email", name="sendgrid", title="SendGrid (signed Event Webhook)",
                             make_secret=verification_key, verify=verify, parse=parse, handle=handle_email,
                             secret_given=True))
