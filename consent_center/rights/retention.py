"""Retention limits: erase whom the privacy policy says is kept no longer.

Three rules, in configuration (``CONSENT_RETENTION_*``):

- accounts: a customer with an account is erased after
  ``RETENTION_ACCOUNT_YEARS`` (7) years without activity — no login, no
  change of a choice — counted from the latest of account creation, last
  login and last consent event;
- prospects: a subject without an account is erased
  ``RETENTION_PROSPECT_YEARS`` (10) years after the end of the relationship,
  i.e. its last consent event;
- inbound texts that changed nothing (``ignored``, ``needs_review``,
  ``unreadable_number``): their sender and text are blanked
  ``RETENTION_INBOUND_DAYS`` (90) days after they came.

A subject is erased when its last activity is strictly before the limit;
erasure is ``rights.erasure.erase``, the same path as an erasure request,
except that the address is not put on the suppression list (nobody
objected: a person who comes back may sign up again).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Callable

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from consent_center.clock import utcnow
from consent_center.inbound.evidence import forget_unacted
from consent_center.ledger import Actor
from consent_center.models import Account, ConsentEvent, Subject
from consent_center.rights.erasure import erase


def years_before(moment: datetime, years: int) -> datetime:
    """The same calendar instant ``years`` earlier (29 February becomes the 28th)."""
    try:
        return moment.replace(year=moment.year - years)
    except ValueError:
        return moment.replace(year=moment.year - years, day=28)


@dataclass
class RetentionReport:
    accounts: list[str] = field(default_factory=list)  # public ids erased (or to erase) by rule
    prospects: list[str] = field(default_factory=list)
    checked: int = 0
    inbound: int = 0  # inbound messages blanked (or to blank)

    @property
    def erased(self) -> int:
        return len(self.accounts) + len(self.prospects)


def _candidates(session: Session):
    last_event = (select(ConsentEvent.subject_id, func.max(ConsentEvent.occurred_at).label("at"))
                  .group_by(ConsentEvent.subject_id).subquery())
    return session.execute(
        select(Subject, Account, last_event.c.at)
        .outerjoin(Account, Account.subject_id == Subject.id)
        .outerjoin(last_event, last_event.c.subject_id == Subject.id)
        .where(Subject.erased_at.is_(None))
        .order_by(Subject.id)
    ).all()


def due_for_erasure(session: Session, now: datetime | None = None) -> list[tuple[Subject, str]]:
    """Every subject past its limit, with the rule ("account" or "prospect")."""
    now = now or utcnow()
    config = current_app.config
    account_limit = years_before(now, config["RETENTION_ACCOUNT_YEARS"])
    prospect_limit = years_before(now, config["RETENTION_PROSPECT_YEARS"])
    due = []
    for subject, account, last_event in _candidates(session):
        if account is not None:
            moments = [m for m in (account.created_at, account.last_login_at, last_event) if m]
            if max(moments) < account_limit:
                due.append((subject, "account"))
        else:
            if max(m for m in (subject.created_at, last_event) if m) < prospect_limit:
                due.append((subject, "prospect"))
    return due


def run_retention(session: Session, *, dry_run: bool = False,
                  progress: Callable[[int], None] | None = None) -> RetentionReport:
    """Erase every subject past its retention limit (or only list them, dry run)."""
    report = RetentionReport()
    due = due_for_erasure(session)
    report.checked = len(due)
    for subject, rule in due:
        (report.accounts if rule == "account" else report.prospects).append(subject.public_id)
        if not dry_run:
            erase(session, subject, actor=Actor.system(), reason="retention", suppress_address=False)
        if progress:
            progress(1)
    limit = utcnow() - timedelta(days=current_app.config["RETENTION_INBOUND_DAYS"])
    report.inbound = forget_unacted(session, limit, dry_run=dry_run)
    return report
