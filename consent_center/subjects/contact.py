"""The last contact coming from the person: what starts every retention clock.

A contact is something the person did: a change of their own choices (the
ledger's ``FROM_THE_PERSON`` sources), a login, a request, a yes to "still
interested?", or activity a marketing tool reports (a purchase, a click, a
reply). A mail open is not one: it is the mail client's doing, often a
privacy proxy's (CNIL: "l'ouverture d'un e-mail ne peut être considérée
comme un contact émanant du prospect"). The clock runs from the latest
contact, or from the collection of the data when there was none.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from consent_center.clock import utcnow
from consent_center.models import Account, ConsentEvent, Subject
from consent_center.models.vocabulary import FROM_THE_PERSON

# What a marketing tool may report (POST /api/v1/subjects/{id}/activity).
REPORTED_KINDS = ("purchase", "click", "reply", "visit")
# Reported, and refused with the reason: not the person's doing.
NOT_CONTACT = {"open": "a mail open is not a contact coming from the person"}


def note_contact(subject: Subject, kind: str, at: datetime | None = None) -> bool:
    """Record a contact from the person at ``at`` (now); True if it moved their clock forward."""
    at = at or utcnow()
    if subject.last_contact_at is not None and at <= subject.last_contact_at:
        return False
    subject.last_contact_at, subject.last_contact_kind = at, kind
    return True


@dataclass(frozen=True)
class Clock:
    """Where a subject's retention period runs from, and under which rule."""

    subject_id: int
    has_account: bool
    since: datetime

    @property
    def rule(self) -> str:
        return "account" if self.has_account else "prospect"


def clocks(session: Session, subject_ids: list[int] | None = None) -> list[Clock]:
    """The retention clock of every subject not erased (or of ``subject_ids``), in id order."""
    last_change = (select(ConsentEvent.subject_id, func.max(ConsentEvent.occurred_at).label("at"))
                   .where(ConsentEvent.source.in_([str(s) for s in FROM_THE_PERSON]))
                   .group_by(ConsentEvent.subject_id).subquery())
    stmt = (select(Subject.id, Subject.created_at, Subject.last_contact_at, Account.id,
                   Account.created_at, Account.last_login_at, last_change.c.at)
            .outerjoin(Account, Account.subject_id == Subject.id)
            .outerjoin(last_change, last_change.c.subject_id == Subject.id)
            .where(Subject.erased_at.is_(None)).order_by(Subject.id))
    if subject_ids is not None:
        stmt = stmt.where(Subject.id.in_(subject_ids))
    found = []
    for subject_id, created, contact, account_id, account_created, login, change in session.execute(stmt):
        since = max(m for m in (created, contact, account_created, login, change) if m is not None)
        found.append(Clock(subject_id, account_id is not None, since))
    return found
