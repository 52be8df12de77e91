"""Inbound hooks: where SMS and e-mail providers post what people answer, and what they posted."""
from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from consent_center.clock import utcnow
from consent_center.db import Base, UTCDateTime


def new_hook_id() -> str:
    return "hk_" + secrets.token_hex(8)


def new_message_id() -> str:
    return "im_" + secrets.token_hex(10)


class InboundHook(Base):
    """One provider account allowed to post to ``/hooks/<kind>/<provider>/<public_id>``."""

    __tablename__ = "inbound_hooks"

    id: Mapped[int] = mapped_column(primary_key=True)
    # In the hook's URL: how a request finds its hook, and so the secret its signature is checked with.
    public_id: Mapped[str] = mapped_column(String(32), unique=True, default=new_hook_id)
    kind: Mapped[str] = mapped_column(String(8))  # sms | email
    provider: Mapped[str] = mapped_column(String(32))
    name: Mapped[str | None] = mapped_column(String(100))
    # Kept in clear, unlike an API key's hash: verifying an HMAC needs the key itself (a Standard
    # Webhooks "whsec_" secret, Twilio's auth token, a provider's signing key).
    secret: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def __repr__(self) -> str:
        return f"<InboundHook {self.public_id} {self.kind}/{self.provider}>"


class InboundMessage(Base):
    """A message a hook accepted, kept as the evidence of what it changed.

    The provider's message id is unique per hook: the same message posted
    again (a retry, a replay) finds this row and changes nothing.
    """

    __tablename__ = "inbound_messages"
    __table_args__ = (
        UniqueConstraint("hook_id", "provider_message_id", name="uq_inbound_messages_hook_id_provider_message_id"),
        Index("ix_inbound_messages_sender", "sender"),
        Index("ix_inbound_messages_received_at", "received_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True, default=new_message_id)
    hook_id: Mapped[int] = mapped_column(ForeignKey("inbound_hooks.id"))
    provider_message_id: Mapped[str] = mapped_column(String(200))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The sender in stored form (E.164, a normalised e-mail address): erasure finds a person's messages by it.
    sender: Mapped[str | None] = mapped_column(String(320))
    # The request body as received (its text; the signature covered these bytes).
    payload: Mapped[str | None] = mapped_column(Text)
    # What the message did: stop, start, ignored, suppressed, … (inbound.*.OUTCOMES) and its details.
    outcome: Mapped[str] = mapped_column(String(32))
    details: Mapped[dict] = mapped_column(JSON, default=dict)
    # Set by erasure: sender and payload are gone, the row stays as the events' evidence.
    redacted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    hook: Mapped[InboundHook] = relationship()

    def __repr__(self) -> str:
        return f"<InboundMessage {self.public_id} {self.outcome}>"
