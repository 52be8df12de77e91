"""Consent receipts: the document given to the subject for each change.

The fields follow the Kantara Consent Receipt Specification v1.1, with
the additions of ISO/IEC TS 27560 that the ledger knows (legal basis,
event type, policy version and text hash, ledger events and hashes).
"""
from __future__ import annotations

from flask import current_app

from .chain import canonical_json
from .models import Channel, ConsentEvent, PolicyVersion, Subject
from .models.vocabulary import Basis, Source

KANTARA_VERSION = "KI-CR-v1.1.0"

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


def build_document(
    *, receipt_public_id: str, subject: Subject, source: str, events: list[ConsentEvent],
    channels: dict[int, Channel], policy: PolicyVersion | None,
) -> dict:
    """Return the receipt document for ``events`` (all of one submission)."""
    config = current_app.config
    locale = subject.locale or config["BABEL_DEFAULT_LOCALE"]
    issued = events[0].occurred_at
    policy_text = policy.text(locale) if policy else None
    services = []
    for event in events:
        channel = channels[event.channel_id]
        services.append({
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
        })
    return {
        "version": KANTARA_VERSION,
        "jurisdiction": config["JURISDICTION"],
        "consentTimestamp": int(issued.timestamp()),
        "collectionMethod": COLLECTION_METHODS.get(source, source),
        "consentReceiptID": receipt_public_id,
        "language": locale,
        "piiPrincipalId": subject.public_id,
        "piiControllers": [{
            "piiController": config["COMPANY_NAME"],
            "onBehalf": False,
            "contact": config.get("CONTROLLER_CONTACT", config["COMPANY_NAME"]),
            "address": config.get("CONTROLLER_ADDRESS", ""),
            "email": config.get("CONTROLLER_EMAIL", ""),
            "phone": config.get("CONTROLLER_PHONE", ""),
        }],
        "policyUrl": f"{config['BASE_URL']}/privacy",
        "services": services,
        "sensitive": False,
        "spiCat": [],
        # ISO/IEC TS 27560 additions
        "policyVersion": {
            "label": policy.label if policy else None,
            "textHash": policy_text.sha256 if policy_text else None,
            "textLocale": policy_text.locale if policy_text else None,
        },
        "events": [
            {"id": e.public_id, "seq": e.seq, "hash": e.hash, "prevHash": e.prev_hash} for e in events
        ],
        "issuedAt": issued.isoformat().replace("+00:00", "Z"),
    }


def _pii_category(channel_code: str) -> str:
    return {"email": "E-mail address", "newsletter": "E-mail address", "sms": "Phone number",
            "post": "Postal address"}.get(channel_code, "Contact details")


def serialise(document: dict) -> str:
    return canonical_json(document)
