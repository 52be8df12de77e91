"""Consent receipts: the signed document given to the subject for each change.

The fields follow the Kantara Consent Receipt Specification v1.1, with
the additions of ISO/IEC TS 27560 that the ledger knows (legal basis,
event type, policy version and text hash, ledger events and hashes). The
ledger signs each document as a compact JWS (``EdDSA`` with an Ed25519
key, RFC 8037; ``receipts/algorithms.py``) in the transaction that records
the change; the payload is exactly the canonical JSON stored in
``Receipt.document``. Verifying one needs only the public keys
(``receipts/verification.py``).
"""
from __future__ import annotations

import json
from urllib.parse import quote

from flask import current_app
from joserfc import jws
from sqlalchemy import select
from sqlalchemy.orm import Session

from consent_center.canonical import canonical_json, format_time
from consent_center.models import Channel, ConsentEvent, PolicyText, PolicyVersion, Receipt, Subject
from consent_center.models.vocabulary import Basis, Source
from consent_center.receipts.algorithms import REGISTRY, SIGNING_ALGORITHM
from consent_center.receipts.keys import key_ring
# Verification lives apart (it needs no app); these names are read from here too.
from consent_center.receipts.verification import (ReceiptInvalid, VerifiedReceipt, jws_header,  # noqa: F401
                                                  signed_payload, verify_receipt)

KANTARA_VERSION = "KI-CR-v1.1.0"
JWKS_PATH = "/.well-known/jwks.json"

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
    Source.SMS_KEYWORD: "keyword sent by SMS",
    Source.COMPLAINT: "spam complaint reported by the mailbox provider",
    Source.REPERMISSION: "yes to keep hearing from us before the retention period ended",
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
    purpose = {
        "purpose": channel.purpose(locale),
        "purposeCategory": ["Marketing"],
        "consentType": CONSENT_TYPES.get(event.basis, "EXPLICIT"),
        "piiCategory": [_pii_category(channel.code)],
        "primaryPurpose": True,
        "termination": "until withdrawn",
        "thirdPartyDisclosure": bool(channel.shares_with_partners),
    }
    if channel.shares_with_partners:
        # The partners named when the person chose: what their consent covers, signed with it.
        purpose["thirdPartyName"] = ", ".join(channel.partners_in(locale))
    return {
        "service": channel.name(locale),
        "purposes": [purpose],
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
    header = {"alg": SIGNING_ALGORITHM, "kid": key.kid, "typ": "JWT"}
    return jws.serialize_compact(header, document_json, key, registry=REGISTRY)


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
    return _signature_header(receipt).get("kid")


def algorithm_of(receipt: Receipt) -> str | None:
    """Return the JWS algorithm the receipt was signed with (``EdDSA``; ``Ed25519`` before it)."""
    return _signature_header(receipt).get("alg")


def _signature_header(receipt: Receipt) -> dict:
    return jws_header(receipt.jws.split(".", 1)[0]) if receipt.jws else {}


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
        "alg": algorithm_of(receipt),
        "kid": key_id_of(receipt),
        "jwks_uri": current_app.config["BASE_URL"] + JWKS_PATH,
    }
