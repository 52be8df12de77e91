"""Ledger verification runs: walk every chain, and keep a record of each walk."""
from __future__ import annotations

from typing import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from consent_center.ledger.chain import verify_chains
from consent_center.clock import utcnow
from consent_center.models import VerificationRun


def run_verification(session: Session, *, started_by: str,
                     progress: Callable[[int], None] | None = None) -> VerificationRun:
    """Verify every hash chain and record the run (the caller commits).

    It reads the whole ledger in this transaction: on a big base, from the
    web, the request lasts as long as the walk.
    """
    run = VerificationRun(started_at=utcnow(), started_by=started_by)
    report = verify_chains(session, progress=progress)
    run.finished_at = utcnow()
    run.events, run.subjects, run.ok = report.events, report.subjects, report.ok
    if report.first_break is not None:
        run.first_break_event_id = report.first_break.event_id
        run.first_break = str(report.first_break)
    session.add(run)
    session.flush()
    return run


def last_verification(session: Session) -> VerificationRun | None:
    """Return the most recent ledger verification run."""
    return session.scalars(select(VerificationRun).order_by(VerificationRun.id.desc()).limit(1)).first()
