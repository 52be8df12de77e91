from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from consent_center.clock import utcnow
from consent_center.db import Base, UTCDateTime
from consent_center.models.account import Account


class StaffAction(Base):
    """One thing a staff member did in the back office: who, when, what, to what."""

    __tablename__ = "staff_actions"
    __table_args__ = (Index("ix_staff_actions_occurred_at", "occurred_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # None for a command run on the server (``via`` "cli"): no account is logged in there.
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"))
    # Where the action was taken: "web" (the back office) or "cli" (`flask --app wsgi …`).
    via: Mapped[str] = mapped_column(String(8), default="web", server_default="web")
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    action: Mapped[str] = mapped_column(String(64))
    # What was acted on, as "kind:identifier" (subject:<public id>, policy:<label>…).
    target: Mapped[str | None] = mapped_column(String(200))
    details: Mapped[dict] = mapped_column(JSON, default=dict)

    account: Mapped[Account | None] = relationship()
