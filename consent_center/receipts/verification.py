"""Verifying a receipt: its signature, its key, and that a download is the receipt it says.

This needs the public keys only, no app, settings or database: the
standalone verifier (``python -m consent_center.receipts.verify``) runs it
where nothing of the server is, and ``ledger verify`` runs it on the rows.
"""
from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass

from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import OKPKey

from consent_center.receipts.algorithms import CURVE, REGISTRY, SIGNING_ALGORITHM, VERIFIED_ALGORITHMS


class ReceiptInvalid(ValueError):
    """A receipt whose signature, key or content does not hold."""


@dataclass(frozen=True)
class VerifiedReceipt:
    document: dict
    kid: str


def verify_receipt(text: str, keys: dict[str, OKPKey], *, served_as: str | None = None) -> VerifiedReceipt:
    """Check a receipt (a download's JSON, or a bare compact JWS) against ``keys`` by kid.

    Accepts ``EdDSA`` and, for receipts signed before it, ``Ed25519``.
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
    header = jws_header(segments[0])
    if header.get("alg") not in VERIFIED_ALGORITHMS:
        raise ReceiptInvalid(f"algorithm {header.get('alg')!r} refused: receipts are signed with "
                             f"{SIGNING_ALGORITHM} (Ed25519)")
    kid = header.get("kid")
    key = keys.get(kid) if isinstance(kid, str) else None
    if key is None:
        raise ReceiptInvalid(f"no published key has the kid {kid!r}")
    if not isinstance(key, OKPKey) or key.curve_name != CURVE:
        # "EdDSA" also names Ed448: the curve is pinned here, not by the token.
        raise ReceiptInvalid(f"the key {kid!r} is not an Ed25519 key")
    try:
        signed = jws.deserialize_compact(token, key, registry=REGISTRY)
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
        if wrapper.get("alg") not in (None, header["alg"]):
            raise ReceiptInvalid("the file names another algorithm than the signature")
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


def jws_header(segment: str) -> dict:
    """Return the JSON header of a compact JWS's first part (ReceiptInvalid if it is none)."""
    try:
        header = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    except (binascii.Error, ValueError):
        raise ReceiptInvalid("the JWS header is not base64url JSON") from None
    if not isinstance(header, dict):
        raise ReceiptInvalid("the JWS header is not a JSON object")
    return header
