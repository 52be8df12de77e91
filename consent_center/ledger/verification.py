"""Ledger verification runs: walk every chain, check the ledger against the stored states, against
what receipts signed and against the latest signed checkpoint of the log, and keep a record of each run."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from consent_center.clock import utcnow
from consent_center.ledger.chain import VerifyReport, chains, event_rows, walk_chain
from consent_center.ledger.findings import Check
from consent_center.ledger.log_check import Outcome, check_latest_checkpoint
from consent_center.ledger.replay_check import StateReplay
from consent_center.ledger.signed_checks import SignedReceipts, check_policy_texts
from consent_center.models import VerificationRun


@dataclass
class LedgerReport:
    """The chains' walk, and the checks beyond it: states, chain heads, policy texts, receipts."""
    chains: VerifyReport
    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.chains.ok and all(check.ok for check in self.checks)

    def check(self, name: str) -> Check:
        return next(check for check in self.checks if check.name == name)


def verify_ledger(session: Session, progress: Callable[[int], None] | None = None) -> LedgerReport:
    """Verify the ledger in one read of each table, each ordered by subject where it is walked
    beside the chains: no query per subject, so it holds on a big ledger; then the log against
    its latest checkpoint, in one read of its leaves in log order."""
    walked = VerifyReport()
    states, receipts = StateReplay(session), SignedReceipts(session)
    rows = event_rows(session)
    try:
        for chain in chains(rows, progress):
            if walked.ok:  # past the first break the chains are counted, not walked
                walk_chain(chain, walked)
            else:
                walked.subjects, walked.events = walked.subjects + 1, walked.events + len(chain.events)
            states.chain(chain)
            receipts.chain(chain)
    finally:
        rows.close()
        states.finish()
        receipts.finish()
    texts = check_policy_texts(session, receipts.signed_texts)
    return LedgerReport(walked, [states.check, receipts.heads, texts, receipts.receipts,
                                 check_latest_checkpoint(session)])


def run_verification(session: Session, *, started_by: str, progress: Callable[[int], None] | None = None,
                     held: Sequence[tuple[str, Outcome]] = ()) -> tuple[VerificationRun, LedgerReport]:
    """Verify the ledger and record the run (the caller commits), with ``held``: the checkpoints kept
    elsewhere that the log was checked against first (``ledger verify --checkpoint``), by name.

    It reads the whole ledger in this transaction: on a big base, from the
    web, the request lasts as long as the walk.
    """
    run = VerificationRun(started_at=utcnow(), started_by=started_by)
    report = verify_ledger(session, progress=progress)
    run.finished_at = utcnow()
    run.events, run.subjects, run.ok = report.chains.events, report.chains.subjects, report.ok
    if report.chains.first_break is not None:
        run.first_break_event_id = report.chains.first_break.event_id
        run.first_break = str(report.chains.first_break)
    run.states_mismatched = report.check("states").count
    run.chains_truncated = report.check("chain heads").count
    run.policy_texts_mismatched = report.check("policy texts").count
    run.receipts_mismatched = report.check("receipts").count
    run.log_mismatched = report.check("log").count
    run.findings = "\n".join(finding for check in report.checks for finding in check.findings) or None
    record_held_checkpoints(run, held)
    session.add(run)
    session.flush()
    return run, report


def record_held_checkpoints(run: VerificationRun, held: Sequence[tuple[str, Outcome]]) -> None:
    """Record which checkpoints kept elsewhere the run checked and whether the log extends each: one it
    does not extend makes the run not ok, whatever the other checks found."""
    run.checkpoints_held = len(held)
    run.checkpoints_inconsistent = sum(1 for _, outcome in held if outcome.broken)
    run.checkpoint_results = "\n".join(outcome.line(name) for name, outcome in held) or None
    run.ok = run.ok and not run.checkpoints_inconsistent


def last_verification(session: Session) -> VerificationRun | None:
    """Return the most recent ledger verification run."""
    return session.scalars(select(VerificationRun).order_by(VerificationRun.id.desc()).limit(1)).first()
