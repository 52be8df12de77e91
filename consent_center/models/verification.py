from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from consent_center.db import Base, UTCDateTime


class VerificationRun(Base):
    """One verification of the ledger (its chains, states, heads, policy texts, receipts), and what it found."""

    __tablename__ = "ledger_verifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    events: Mapped[int] = mapped_column(Integer, default=0)
    subjects: Mapped[int] = mapped_column(Integer, default=0)
    ok: Mapped[bool] = mapped_column(Boolean, default=False)
    # The first broken event: its id (no foreign key: it may have been
    # deleted) and why it breaks its chain.
    first_break_event_id: Mapped[int | None] = mapped_column(BigInteger)
    first_break: Mapped[str | None] = mapped_column(Text)
    # What the checks beyond the chains found (ledger/verification.py), one
    # count each: 0 when the check holds.
    states_mismatched: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    chains_truncated: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    policy_texts_mismatched: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    receipts_mismatched: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Leaves of the log that differ from their event, are missing, or a root unlike the latest checkpoint's.
    log_mismatched: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # ``ledger verify --checkpoint``: how many checkpoints kept elsewhere were given, how many the log
    # does not extend (either makes the run not ok), and each one's verdict, one a line (log_check.Outcome.line).
    checkpoints_held: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    checkpoints_inconsistent: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    checkpoint_results: Mapped[str | None] = mapped_column(Text)
    # The first findings of every check, one a line (capped: FINDINGS_KEPT).
    findings: Mapped[str | None] = mapped_column(Text)
    # "cli", or "account:<id>" when run from /audit.
    started_by: Mapped[str] = mapped_column(String(64))

    def __repr__(self) -> str:
        return f"<VerificationRun {self.id} ok={self.ok}>"
