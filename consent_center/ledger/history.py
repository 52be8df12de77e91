"""What the auditor's and support's pages read of the ledger: finding a person, their history, the policy timeline."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, joinedload, selectinload

from consent_center.models import ConsentEvent, PolicyVersion, Receipt, Subject

SEARCH_LIMIT = 50


def find_subjects(session: Session, query: str, *, limit: int = SEARCH_LIMIT) -> list[Subject]:
    """Return subjects whose public id or e-mail is ``query``, or whose e-mail or name contains it."""
    query = query.strip()
    if not query:
        return []
    needle = query.lower()
    pattern = "%" + needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    stmt = (
        select(Subject)
        .where(or_(
            Subject.public_id == query,
            Subject.external_ref == query,
            Subject.email.like(pattern, escape="\\"),
            func.lower(Subject.name).like(pattern, escape="\\"),
        ))
        # Exact matches first, then by e-mail.
        .order_by((Subject.public_id != query), (Subject.email != needle), Subject.email, Subject.id)
        .limit(limit)
    )
    return list(session.scalars(stmt))


def find_subject(session: Session, public_id: str) -> Subject | None:
    return session.scalars(select(Subject).where(Subject.public_id == public_id)).first()


@dataclass(frozen=True)
class HistoryLine:
    event: ConsentEvent
    receipt_public_id: str


def full_history(session: Session, subject: Subject) -> list[HistoryLine]:
    """Return every event of the subject in chain order, with its receipt's public id."""
    stmt = (
        select(ConsentEvent, Receipt.public_id)
        .join(Receipt, Receipt.id == ConsentEvent.receipt_id)
        .where(ConsentEvent.subject_id == subject.id)
        .options(joinedload(ConsentEvent.channel), joinedload(ConsentEvent.policy_version))
        .order_by(ConsentEvent.seq)
    )
    return [HistoryLine(event, receipt_id) for event, receipt_id in session.execute(stmt)]


@dataclass(frozen=True)
class PolicyPeriod:
    version: PolicyVersion
    start: datetime
    end: datetime | None  # None: still in force


def policy_periods(session: Session) -> list[PolicyPeriod]:
    """Return the policy versions in the order they came into force, each with its period."""
    versions = session.scalars(
        select(PolicyVersion).options(selectinload(PolicyVersion.texts))
        .order_by(PolicyVersion.effective_at, PolicyVersion.id)
    ).all()
    periods = []
    for index, version in enumerate(versions):
        following = versions[index + 1] if index + 1 < len(versions) else None
        periods.append(PolicyPeriod(version, version.effective_at, following.effective_at if following else None))
    return periods

