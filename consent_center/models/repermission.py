from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from consent_center.db import Base, UTCDateTime
from consent_center.models.subject import Subject


class RepermissionRequest(Base):
    """One "do you still want to hear from us?" before a retention period ends (rights/repermission.py).

    Asked once per period: the period is named by the last contact it runs
    from (``clock_from``), so a person who came back since is not asked
    again for the old one, and is asked afresh before the next one ends.
    """

    __tablename__ = "repermission_requests"
    __table_args__ = (UniqueConstraint("subject_id", "clock_from"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True, default=lambda: secrets.token_hex(12))
    subject_id: Mapped[int] = mapped_column(ForeignKey("subjects.id"), index=True)
    # "prospect" or "account": which retention rule's period is ending.
    rule: Mapped[str] = mapped_column(String(16))
    clock_from: Mapped[datetime] = mapped_column(UTCDateTime)
    asked_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # No answer by then, and `retention run` erases.
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # "asked", "renewed" (a yes), "superseded" (other contact came first), "erased".
    outcome: Mapped[str] = mapped_column(String(16), default="asked")

    subject: Mapped[Subject] = relationship()

    def __repr__(self) -> str:
        return f"<RepermissionRequest {self.public_id} {self.rule} {self.outcome}>"
