"""Amazon SES feedback through SNS (``inbound/mail/sns.py`` checks the message, ``ses.py`` reads SES's part).

The hook's "secret" is what it listens to: the ARN of the SNS topic (or
several, comma-separated), given with ``--secret``. SNS signs every topic's
messages, anyone's included, so the topic is what makes a signed message
this company's. The certificate is pinned by ``CONSENT_SNS_CERTIFICATE``
(PEM text, or the path of a PEM file), else fetched from the message's
``SigningCertURL`` once checked (``CONSENT_SNS_FETCH_CERTIFICATES=0``
forbids that: with no pin, every message is then refused).
"""
from __future__ import annotations

import re
from dataclasses import replace
from functools import lru_cache
from pathlib import Path

from cryptography import x509
from flask import current_app

from consent_center.inbound.mail import ses, sns
from consent_center.inbound.mail.adapter import checked, fresh, messages
from consent_center.inbound.mail.effects import handle_email
from consent_center.inbound.mail.feedback import BadSignature
from consent_center.inbound.registry import HookRequest, Inbound, Provider, SecretError, register
from consent_center.models import InboundHook

TOPIC_ARN = re.compile(r"arn:aws(-cn|-us-gov)?:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?")
# Certificates fetched from SNS, kept for the process.
FETCHED = sns.Fetcher()


def topics(given: str | None) -> str:
    """The topic ARNs a hook listens to, comma-separated; SecretError when one is not an SNS topic's ARN."""
    found = [arn.strip() for arn in (given or "").split(",") if arn.strip()]
    if not found or not all(TOPIC_ARN.fullmatch(arn) for arn in found):
        raise SecretError("give the ARN of the SNS topic SES publishes to (arn:aws:sns:REGION:ACCOUNT:NAME), "
                          "several separated by commas")
    return ",".join(found)


@lru_cache(maxsize=4)
def _pinned(setting: str) -> tuple[x509.Certificate, ...]:
    text = setting if setting.lstrip().startswith("-----BEGIN") else Path(setting).read_text("ascii")
    return tuple(sns.load_pinned(text))


def certificates(url: str) -> list[x509.Certificate]:
    """The certificates a message may be signed under: the pinned ones, else SNS's, fetched."""
    setting = current_app.config["SNS_CERTIFICATE"]
    if setting:
        try:
            return list(_pinned(setting))
        except (OSError, ValueError):
            current_app.logger.error("CONSENT_SNS_CERTIFICATE is neither PEM nor a readable PEM file")
            raise BadSignature("the pinned SNS certificate cannot be read") from None
    if not current_app.config["SNS_FETCH_CERTIFICATES"]:
        raise BadSignature("no SNS certificate is pinned (CONSENT_SNS_CERTIFICATE) and fetching is off")
    return FETCHED(url)


def verify(hook: InboundHook, request: HookRequest) -> None:
    message = checked(lambda: sns.read(request.body))
    checked(lambda: sns.verify(message, certificates, topics=hook.secret.split(","), now=request.now))
    fresh([checked(lambda: sns.parse(message)[0])], request)


def parse(request: HookRequest) -> list[Inbound]:
    def read():
        notice, text = sns.parse(sns.read(request.body))
        if not text:
            return [notice]
        items, ignored = ses.parse(text)
        return [replace(notice, items=items, ignored=ignored)]

    return messages(checked(read), request.body)


PROVIDER = register(Provider(kind="email", name="ses", title="Amazon SES (through SNS)",
                             make_secret=topics, verify=verify, parse=parse, handle=handle_email,
                             secret_given=True))
