"""Consent receipts: the signed document given to the subject for each change.

The fields follow the Kantara Consent Receipt Specification v1.1, with
the additions of ISO/IEC TS 27560 that the ledger knows (legal basis,
event type, policy version and text hash, ledger events and hashes). The
ledger signs each document as a compact JWS (Ed25519, RFC 8037 and RFC
9864) in the transaction that records the change; the payload is exactly
the canonical JSON stored in ``Receipt.document``.
"""
from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from urllib.parse import quote

from flask import current_app
from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import OKPKey
from joserfc.jws import JWSRegistry
from sqlalchemy import select
from sqlalchemy.orm import Session

from consent_center.canonical import canonical_json, format_time
from consent_center.models import Channel, ConsentEvent, PolicyText, PolicyVersion, Receipt, Subject
from consent_center.models.vocabulary import Basis, Source
from consent_center.receipts.keys import ALGORITHM, key_ring

KANTARA_VERSION = "KI-CR-v1.1.0"
JWKS_PATH = "/.well-known/jwks.json"
# Only Ed25519 is ever accepted: no "none", no algorithm chosen by the token.
_REGISTRY = JWSRegistry(algorithms=[ALGORITHM])

COLLECTION_METHODS = {
    Source.DEFAULT: "channel default at account creation",
    Source.CUSTOMER_SPACE: "customer preference space",
    Source.UNSUBSCRIBE_LINK: "unsubscribe link",
    Source.MANAGE_LINK: "preferences link sent by e-mail on request",
    Source.API: "marketing tool API",
    Source.STAFF: "staff on the subject's behalf",
    Source.IMPORT: "import",
    Source.DOUBLE_OPT_IN: "double opt-in confirmation",
    Source.EXPIRY: "expiry of consent",
    Source.ERASURE: "erasure request",
    Source.RESTRICTION: "restriction request",
    Source.OBJECTION: "objection request",
    Source.RECONSENT: "confirmation after a policy change",
}

CONSENT_TYPES = {
    Basis.CONSENT: "EXPLICIT",
    Basis.SOFT_OPT_IN: "IMPLICIT",
    Basis.LEGITIMATE_INTEREST: "IMPLICIT",
}


def language_of(subject: Subject) -> str:
    """The language of the subject's receipts: which policy text they name."""
    return subject.locale or current_app.config["BABEL_DEFAULT_LOCALE"]


def build_document(
    *, receipt_public_id: str, subject: Subject, source: str, events: list[ConsentEvent],
    channels: dict[int, Channel], policy: PolicyVersion | None, policy_text: PolicyText | None,
) -> dict:
    """Return the receipt document for ``events`` (all of one submission).

    ``policy_text`` is the text of ``policy`` shown in the receipt's language
    (``PolicyVersion.text``), which the ledger reads with the change.
    """
    config = current_app.config
    base_url = config["BASE_URL"]
    locale = language_of(subject)
    issued = events[0].occurred_at
    timestamp = int(issued.timestamp())
    return {
        # Kantara Consent Receipt v1.1
        "version": KANTARA_VERSION,
        "jurisdiction": config["JURISDICTION"],
        "consentTimestamp": timestamp,
        "collectionMethod": COLLECTION_METHODS.get(source, str(source)),
        "consentReceiptID": receipt_public_id,
        "language": locale,
        "piiPrincipalId": subject.public_id,
        "piiControllers": [{
            "piiController": config["COMPANY_NAME"],
            "onBehalf": False,
            "contact": config.get("CONTROLLER_CONTACT") or config["COMPANY_NAME"],
            "address": {
                "streetAddress": config.get("CONTROLLER_ADDRESS") or "",
                "addressCountry": config["JURISDICTION"],
            },
            "email": config.get("CONTROLLER_EMAIL") or "",
            "phone": config.get("CONTROLLER_PHONE") or "",
            "piiControllerUrl": base_url,
        }],
        "policyUrl": f"{base_url}/privacy/versions/{quote(policy.label, safe='')}" if policy else f"{base_url}/privacy",
        "services": [_service(channels[e.channel_id], e, locale) for e in events],
        "sensitive": False,
        "spiCat": [],
        # JWT claims, so that JWT tooling reads the signed receipt too
        "iss": base_url,
        "iat": timestamp,
        "jti": receipt_public_id,
        "sub": subject.public_id,
        # ISO/IEC TS 27560 additions
        "policyVersion": {
            "label": policy.label if policy else None,
            "effectiveAt": format_time(policy.effective_at) if policy else None,
            "textLocale": policy_text.locale if policy_text else None,
            "textHash": policy_text.sha256 if policy_text else None,
            "textHashAlgorithm": "SHA-256",
        },
        "events": [_event(channels[e.channel_id], e) for e in events],
        "issuedAt": format_time(issued),
    }


def _service(channel: Channel, event: ConsentEvent, locale: str) -> dict:
    return {
        "service": channel.name(locale),
        "purposes": [{
            "purpose": channel.purpose(locale),
            "purposeCategory": ["Marketing"],
            "consentType": CONSENT_TYPES.get(event.basis, "EXPLICIT"),
            "piiCategory": [_pii_category(channel.code)],
            "primaryPurpose": True,
            "termination": "until withdrawn",
            "thirdPartyDisclosure": False,
        }],
        "channel": channel.code,
        "status": event.status,
        "previousStatus": event.previous_status,
        "legalBasis": event.basis,
        "eventType": event.event_type,
    }


def _event(channel: Channel, event: ConsentEvent) -> dict:
    return {
        "id": event.public_id,
        "seq": event.seq,
        "channel": channel.code,
        "status": event.status,
        "previousStatus": event.previous_status,
        "legalBasis": event.basis,
        "eventType": event.event_type,
        "source": event.source,
        "actor": {"type": event.actor_type, "id": event.actor_id},
        "occurredAt": format_time(event.occurred_at),
        "hash": event.hash,
        "prevHash": event.prev_hash,
    }


def _pii_category(channel_code: str) -> str:
    return {"email": "E-mail address", "newsletter": "E-mail address", "sms": "Phone number",
            "post": "Postal address"}.get(channel_code, "Contact details")


def serialise(document: dict) -> str:
    """Return the canonical JSON of a document: what is stored and signed."""
    return canonical_json(document)


def sign(document_json: str) -> str:
    """Return the compact JWS of ``document_json`` with the active receipt key."""
    key = key_ring().active
    header = {"alg": ALGORITHM, "kid": key.kid, "typ": "JWT"}
    return jws.serialize_compact(header, document_json, key, registry=_REGISTRY)


# Reading receipts ----------------------------------------------------------

def receipts_of(session: Session, subject: Subject, *, limit: int = 50, before: int | None = None) -> list[Receipt]:
    """Return a page of the subject's receipts, newest first."""
    stmt = select(Receipt).where(Receipt.subject_id == subject.id)
    if before is not None:
        stmt = stmt.where(Receipt.id < before)
    return list(session.scalars(stmt.order_by(Receipt.id.desc()).limit(limit)))


def receipt_of(session: Session, subject: Subject, public_id: str) -> Receipt | None:
    """Return the subject's receipt ``public_id``; None if it is someone else's or unknown."""
    return session.scalars(
        select(Receipt).where(Receipt.public_id == public_id, Receipt.subject_id == subject.id)
    ).first()


def find_receipt(session: Session, public_id: str) -> Receipt | None:
    """Return any subject's receipt by its public id (staff and API)."""
    return session.scalars(select(Receipt).where(Receipt.public_id == public_id)).first()


def document_of(receipt: Receipt) -> dict:
    """Return the receipt's document as a dict."""
    return json.loads(receipt.document)


def key_id_of(receipt: Receipt) -> str | None:
    """Return the kid that signed the receipt (None if it is unsigned)."""
    if not receipt.jws:
        return None
    return _header(receipt.jws.split(".", 1)[0]).get("kid")


def receipt_payload(receipt: Receipt) -> dict:
    """Return what a receipt download holds: the document, its JWS and the key id.

    ``flask --app wsgi receipt verify`` reads this JSON back; the API's
    ``GET /api/v1/receipts/{id}`` answers it as is.
    """
    return {
        "receipt_id": receipt.public_id,
        "issued_at": format_time(receipt.issued_at),
        "document": document_of(receipt),
        "jws": receipt.jws,
        "alg": ALGORITHM if receipt.jws else None,
        "kid": key_id_of(receipt),
        "jwks_uri": current_app.config["BASE_URL"] + JWKS_PATH,
    }


# Verifying receipts --------------------------------------------------------

class ReceiptInvalid(ValueError):
    """A receipt whose signature, key or content does not hold."""


@dataclass(frozen=True)
class VerifiedReceipt:
    document: dict
    kid: str


def verify_receipt(text: str, keys: dict[str, OKPKey], *, served_as: str | None = None) -> VerifiedReceipt:
    """Check a receipt (a download's JSON, or a bare compact JWS) against ``keys`` by kid.

    Fails on any changed byte of the JWS, an unknown key, another algorithm,
    a readable document that differs from the signed one, or a download
    whose receipt id or date (or ``served_as``, the receipt id its file is
    named after) is not the signed document's: a row serving another
    receipt's document is refused.
    """
    token, wrapper = _split_download(text)
    segments = token.split(".")
    if len(segments) != 3 or not all(_is_canonical_base64url(s) for s in segments):
        raise ReceiptInvalid("not a compact JWS (three canonical base64url parts)")
    header = _header(segments[0])
    if header.get("alg") != ALGORITHM:
        raise ReceiptInvalid(f"algorithm {header.get('alg')!r} refused: receipts are signed with {ALGORITHM}")
    kid = header.get("kid")
    key = keys.get(kid) if isinstance(kid, str) else None
    if key is None:
        raise ReceiptInvalid(f"no published key has the kid {kid!r}")
    try:
        signed = jws.deserialize_compact(token, key, registry=_REGISTRY)
    except JoseError as exc:
        raise ReceiptInvalid(f"the signature does not verify ({exc.error})") from None
    try:
        document = json.loads(signed.payload)
    except ValueError:
        raise ReceiptInvalid("the signed payload is not JSON") from None
    if wrapper is not None:
        if "document" in wrapper and wrapper["document"] != document:
            raise ReceiptInvalid("the readable document differs from the signed one")
        if wrapper.get("kid") not in (None, kid):
            raise ReceiptInvalid("the file names another key than the signature")
        _bound(wrapper, document)
    if served_as is not None and served_as != document.get("consentReceiptID"):
        raise ReceiptInvalid(f"the file names receipt {served_as} but its signed document is receipt "
                             f"{document.get('consentReceiptID')}")
    return VerifiedReceipt(document=document, kid=kid)


def _bound(wrapper: dict, document: dict) -> None:
    """A download's id and date must be its signed document's (receipt_payload writes them from the row)."""
    if "receipt_id" in wrapper and wrapper["receipt_id"] != document.get("consentReceiptID"):
        raise ReceiptInvalid(f"the download is receipt {wrapper['receipt_id']} but its signed document is "
                             f"receipt {document.get('consentReceiptID')}")
    if "issued_at" in wrapper and wrapper["issued_at"] != document.get("issuedAt"):
        raise ReceiptInvalid(f"the download is issued at {wrapper['issued_at']} but its signed document at "
                             f"{document.get('issuedAt')}")


def signed_payload(token: str) -> str | None:
    """Return the payload a compact JWS carries (its signature not checked), or None if unreadable."""
    segments = token.split(".")
    if len(segments) != 3:
        return None
    try:
        return base64.urlsafe_b64decode(segments[1] + "=" * (-len(segments[1]) % 4)).decode("utf-8")
    except (binascii.Error, ValueError):
        return None


def _split_download(text: str) -> tuple[str, dict | None]:
    text = text.strip()
    if not text.startswith("{"):
        return text, None
    try:
        wrapper = json.loads(text)
    except ValueError:
        raise ReceiptInvalid("the file is neither a receipt download (JSON) nor a compact JWS") from None
    token = wrapper.get("jws") if isinstance(wrapper, dict) else None
    if not isinstance(token, str) or not token:
        raise ReceiptInvalid("the receipt carries no signature (\"jws\")")
    return token, wrapper


def _is_canonical_base64url(segment: str) -> bool:
    # A decoder ignores stray characters and the spare bits of the last one;
    # re-encoding makes every byte of the JWS count.
    try:
        raw = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    except (binascii.Error, ValueError):
        return False
    return bool(segment) and base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii") == segment


def _header(segment: str) -> dict:
    try:
        header = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    except (binascii.Error, ValueError):
        raise ReceiptInvalid("the JWS header is not base64url JSON") from None
    if not isinstance(header, dict):
        raise ReceiptInvalid("the JWS header is not a JSON object")
    return header
