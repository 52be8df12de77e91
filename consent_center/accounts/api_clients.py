"""API clients: issuing, listing and revoking the marketing tools' keys.

A key is ``cc_`` followed by 32 random bytes (URL-safe base64). It is shown
once; the database keeps its first characters (the prefix, to find it and
to name it in lists) and its SHA-256. A plain hash is right here: the key
has 256 bits of entropy, so there is nothing for a slow password hash to
protect, and the check must stay fast.
"""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from consent_center.clock import utcnow
from consent_center.models import ApiClient, Scope

KEY_MARK = "cc_"
PREFIX_LENGTH = len(KEY_MARK) + 8
SCOPES = tuple(str(s) for s in Scope)


class ApiClientError(ValueError):
    """An API client cannot be created or revoked as asked."""


@dataclass(frozen=True)
class IssuedKey:
    """A new client and its key, which exists nowhere else: show it once."""

    client: ApiClient
    key: str


def key_hash(key: str) -> str:
    """Return the SHA-256 (hex) under which ``key`` is stored."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def key_prefix(key: str) -> str:
    return key[:PREFIX_LENGTH]


def create_client(session: Session, name: str, scopes: list[str]) -> IssuedKey:
    """Create a client with ``scopes`` and return it with its new key."""
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise ApiClientError("a client name is 1 to 100 characters")
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown:
        raise ApiClientError(f"unknown scope: {', '.join(unknown)} (known: {', '.join(SCOPES)})")
    if not scopes:
        raise ApiClientError("give at least one scope")
    while True:
        key = KEY_MARK + secrets.token_urlsafe(32)
        taken = session.scalars(select(ApiClient.id).where(ApiClient.key_prefix == key_prefix(key))).first()
        if taken is None:  # 48 random bits: a clash is rare, but the prefix is unique
            break
    client = ApiClient(name=name, key_prefix=key_prefix(key), key_hash=key_hash(key),
                       scopes=[s for s in SCOPES if s in scopes], created_at=utcnow())
    session.add(client)
    session.flush()
    return IssuedKey(client, key)


def list_clients(session: Session) -> list[ApiClient]:
    return list(session.scalars(select(ApiClient).order_by(ApiClient.id)))


def find_client(session: Session, prefix_or_id: str) -> ApiClient | None:
    """Return the client named by its key prefix (or a whole key) or its id."""
    value = prefix_or_id.strip()
    if value.isdigit():
        return session.get(ApiClient, int(value))
    return session.scalars(select(ApiClient).where(ApiClient.key_prefix == key_prefix(value))).first()


def revoke_client(session: Session, prefix_or_id: str) -> ApiClient:
    """Revoke a client's key for good; revoking twice keeps the first date."""
    client = find_client(session, prefix_or_id)
    if client is None:
        raise ApiClientError(f"no API client {prefix_or_id!r}")
    if client.revoked_at is None:
        client.revoked_at = utcnow()
        session.flush()
    return client
