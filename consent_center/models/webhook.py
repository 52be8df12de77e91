from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import Boolean, String, false, true
from sqlalchemy.orm import Mapped, mapped_column

from consent_center.clock import utcnow
from consent_center.db import Base, UTCDateTime


def new_endpoint_id() -> str:
    return "wh_" + secrets.token_hex(8)


class WebhookEndpoint(Base):
    """A receiver of `consent.changed` events, of `log.checkpoint` ones (a witness), or both (Standard Webhooks)."""

    __tablename__ = "webhook_endpoints"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True, default=new_endpoint_id)
    url: Mapped[str] = mapped_column(String(2000))
    description: Mapped[str | None] = mapped_column(String(200))
    # "whsec_" + base64 of 32 random bytes: the receiver verifies signatures with it.
    secret: Mapped[str] = mapped_column(String(100))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # What it is sent: consent changes (a marketing tool), signed checkpoints of the log (a witness).
    receives_consent_changes: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    receives_checkpoints: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
