"""Amazon SNS messages: their signature, their certificate, and the subscription handshake.

SNS signs a canonical string of the message's fields (which fields depends
on its Type) with RSA: SHA1withRSA for SignatureVersion 1, SHA256withRSA for
2. The certificate is named by ``SigningCertURL``: only an https URL on an
``sns.<region>.amazonaws.com`` host is accepted, fetched without following
redirects, or not fetched at all when certificates are pinned (a PEM setting:
no network needed, and a rotation is a deliberate act). SNS signs every
topic's messages, anyone's included: the topic must be one the hook names.

A ``SubscriptionConfirmation`` is never confirmed by the center: its
``SubscribeURL`` is shown for the operator to visit (or ``aws sns
confirm-subscription``), so that a request cannot make the server call out.

https://docs.aws.amazon.com/sns/latest/dg/sns-verify-signature-of-message.html
https://docs.aws.amazon.com/sns/latest/dg/http-subscription-confirmation-json.html
"""
from __future__ import annotations

import base64
import binascii
import re
import threading
import urllib.request
from collections.abc import Callable, Collection
from datetime import datetime
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

from consent_center.inbound.mail.feedback import BadSignature, Malformed, Notice, json_body, moment, text_field

SIGNED_FIELDS = {
    "Notification": ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"),
    "SubscriptionConfirmation": ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"),
    "UnsubscribeConfirmation": ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"),
}
DIGESTS = {"1": hashes.SHA1, "2": hashes.SHA256}
CERTIFICATE_HOST = re.compile(r"sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?")
# The name on the certificates SNS signs with (or a regional SNS host's); checked on a fetched one
# (a pinned one is trusted as given).
CERTIFICATE_NAME = "sns.amazonaws.com"
FETCH_TIMEOUT = 5
FETCH_MAX_BYTES = 64 * 1024


def read(body: bytes) -> dict[str, str]:
    """Return an SNS message's fields; Malformed when it is not one."""
    message = json_body(body)
    if not isinstance(message, dict) or message.get("Type") not in SIGNED_FIELDS:
        raise Malformed("not an SNS message (Type Notification, SubscriptionConfirmation or UnsubscribeConfirmation)")
    if not all(isinstance(value, str) for value in message.values()):
        raise Malformed("an SNS message's fields are texts")
    return message


def canonical(message: dict[str, str]) -> bytes:
    """Return the text SNS signs: each signed field present, as name and value lines, in its order."""
    lines = []
    for name in SIGNED_FIELDS[message["Type"]]:
        if name in message:
            lines += [name, message[name]]
        elif name != "Subject":
            raise Malformed(f"{name} is missing")
    return ("\n".join(lines) + "\n").encode("utf-8")


def check_certificate_url(url: str) -> None:
    """Accept only an https URL of a .pem file on an sns.<region>.amazonaws.com host; else BadSignature."""
    parts = urlsplit(url)
    if (parts.scheme != "https" or not CERTIFICATE_HOST.fullmatch(parts.hostname or "") or parts.port not in (None, 443)
            or parts.username or parts.password or not parts.path.endswith(".pem")):
        raise BadSignature("SigningCertURL is not an https address of Amazon SNS")


def verify(message: dict[str, str], certificates: Callable[[str], list[x509.Certificate]], *,
           topics: Collection[str], now: datetime) -> None:
    """Accept a message of one of ``topics`` whose signature holds under one of its certificates; else BadSignature.

    ``certificates`` answers the certificates that may have signed, given the
    message's (already checked) SigningCertURL: the pinned ones, or the one fetched.
    """
    if message.get("TopicArn") not in topics:
        raise BadSignature("the message's topic is not one this hook listens to")
    digest = DIGESTS.get(message.get("SignatureVersion", ""))
    if digest is None:
        raise BadSignature("SignatureVersion is neither 1 nor 2")
    check_certificate_url(message.get("SigningCertURL", ""))
    try:
        signature = base64.b64decode(message.get("Signature", ""), validate=True)
    except binascii.Error:
        raise BadSignature("the signature is not base64") from None
    signed = canonical(message)
    for certificate in certificates(message["SigningCertURL"]):
        key = certificate.public_key()
        if not isinstance(key, rsa.RSAPublicKey) or not _current(certificate, now):
            continue
        try:
            key.verify(signature, signed, padding.PKCS1v15(), digest())
            return
        except InvalidSignature:
            continue
    raise BadSignature("the signature does not hold under SNS's certificate")


def _current(certificate: x509.Certificate, now: datetime) -> bool:
    return certificate.not_valid_before_utc <= now <= certificate.not_valid_after_utc


def parse(message: dict[str, str]) -> tuple[Notice, str]:
    """Return a verified message's Notice (without items) and, for a Notification, its Message text."""
    sent_at = moment(message.get("Timestamp"), what="Timestamp")
    key = text_field(message, "MessageId")
    if message["Type"] == "Notification":
        return Notice(key=key, sent_at=sent_at), message["Message"]
    # Shown to the operator: confirming is their act (a visit to SubscribeURL), never the server's.
    url = message.get("SubscribeURL", "")
    note = (f"SubscriptionConfirmation for {message['TopicArn']}: visit {url} to confirm"
            if message["Type"] == "SubscriptionConfirmation" else
            f"UnsubscribeConfirmation for {message['TopicArn']}: the hook no longer receives it; visit {url} "
            f"to subscribe again")
    return Notice(key=key, sent_at=sent_at, note=note, ignored=(message["Type"],)), ""


def load_pinned(text: str) -> list[x509.Certificate]:
    """Return the certificates of a PEM text (one or several, for a rotation); ValueError when there are none."""
    return x509.load_pem_x509_certificates(text.encode("ascii"))


class Fetcher:
    """SNS's signing certificates fetched from their (checked) URL once, then kept."""

    def __init__(self, opener: Callable[[str], bytes] | None = None) -> None:
        self._open = opener or _fetch
        self._kept: dict[str, list[x509.Certificate]] = {}
        self._lock = threading.Lock()

    def __call__(self, url: str) -> list[x509.Certificate]:
        check_certificate_url(url)
        with self._lock:
            if url in self._kept:
                return self._kept[url]
        try:
            certificate = x509.load_pem_x509_certificate(self._open(url))
        except (OSError, ValueError):
            raise BadSignature("SNS's certificate could not be fetched or read") from None
        names = [name.value for name in certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
        if len(names) != 1 or not (names[0] == CERTIFICATE_NAME or CERTIFICATE_HOST.fullmatch(str(names[0]))):
            raise BadSignature("the certificate is not SNS's")
        with self._lock:
            # A few certificates in use at once; a flood of made-up URLs is refused above.
            if len(self._kept) > 32:
                self._kept.clear()
            self._kept[url] = [certificate]
        return [certificate]


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    # A redirect would lead away from the checked host.
    def redirect_request(self, *args, **kwargs):
        return None


def _fetch(url: str) -> bytes:
    opener = urllib.request.build_opener(_NoRedirect)
    with opener.open(url, timeout=FETCH_TIMEOUT) as answer:  # https, a checked host
        return answer.read(FETCH_MAX_BYTES)
