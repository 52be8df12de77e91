from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, String
from sqlalchemy.orm import Mapped, mapped_column

from consent_center.clock import utcnow
from consent_center.db import Base, UTCDateTime


class ApiClient(Base):
    """A marketing tool's key: only its SHA-256 is stored, with a visible prefix."""

    __tablename__ = "api_clients"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    # The key's first characters, shown in `apikey list` and used to find it.
    key_prefix: Mapped[str] = mapped_column(String(16), unique=True)
    # SHA-256 (hex) of the whole key: keys are 32 random bytes, not passwords.
    key_hash: Mapped[str] = mapped_column(String(64))
    scopes: Mapped[list] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Written at most once a minute per key and process (see api/auth.py).
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def __repr__(self) -> str:
        return f"<ApiClient {self.id} {self.key_prefix}>"
