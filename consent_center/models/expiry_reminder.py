from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from consent_center.db import Base, UTCDateTime
from consent_center.models.consent import EventId


class ExpiryReminder(Base):
    """A reminder sent before a grant expires: one per grant (the event that granted)."""

    __tablename__ = "expiry_reminders"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(EventId, ForeignKey("consent_events.id"), unique=True)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime)
