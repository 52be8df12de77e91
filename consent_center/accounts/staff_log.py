"""The back office's own log: every staff action, written in the action's transaction.

Every state-changing staff page (admin, the requests desk, audit) and every
state-changing command writes one line: who (an account, or ``cli`` for a
command run on the server), what, to what, and details that help a reader
(never a password, a token, a signing secret or a whole API key).
"""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from consent_center.clock import utcnow
from consent_center.models import Account, StaffAction


def log_staff_action(session: Session, account: Account, action: str, target: str | None = None,
                     **details) -> StaffAction:
    """Add one line to the staff action log; the caller's commit keeps it with the action."""
    return _add(session, StaffAction(account_id=account.id, via="web", occurred_at=utcnow(), action=action,
                                     target=target, details=details))


def log_command_action(session: Session, action: str, target: str | None = None, **details) -> StaffAction:
    """Add one line for a command run on the server (``flask --app wsgi …``): the actor is ``cli``."""
    return _add(session, StaffAction(account_id=None, via="cli", occurred_at=utcnow(), action=action,
                                     target=target, details=details))


def _add(session: Session, entry: StaffAction) -> StaffAction:
    session.add(entry)
    session.flush()
    return entry


def recent_actions(session: Session, *, limit: int = 100, before: int | None = None) -> list[StaffAction]:
    """Return a page of the log, newest first."""
    stmt = select(StaffAction).options(joinedload(StaffAction.account))
    if before is not None:
        stmt = stmt.where(StaffAction.id < before)
    return list(session.scalars(stmt.order_by(StaffAction.id.desc()).limit(limit)))


ERASED = "[erased]"


def scrub_staff_log(session: Session, targets: list[str], values: list[str]) -> None:
    """Replace, in the log lines about ``targets``, every detail that holds one of ``values`` (erasure).

    The line stays (who did what, when); only the personal value goes.
    """
    folded = [v.casefold() for v in values if v]
    for entry in session.scalars(select(StaffAction).where(StaffAction.target.in_(targets))):
        scrubbed = {key: _scrubbed(value, folded) for key, value in entry.details.items()}
        if scrubbed != entry.details:
            entry.details = scrubbed
    session.flush()


def _scrubbed(value, folded: list[str]):
    if isinstance(value, str):
        return ERASED if any(v in value.casefold() for v in folded) else value
    if isinstance(value, dict):
        return {k: _scrubbed(v, folded) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrubbed(v, folded) for v in value]
    return value
