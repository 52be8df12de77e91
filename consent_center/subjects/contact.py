"""The last contact coming from the person: what starts every retention clock.

A contact is something the person did: a choice of theirs that turns a
channel on or confirms it (the ledger's ``FROM_THE_PERSON`` sources; a
withdrawal is no reason to keep anyone longer), a login, a request, a yes to "still
interested?", or activity a marketing tool reports (a purchase, a click, a
reply). A mail open is not one: it is the mail client's doing, often a
privacy proxy's (CNIL: "l'ouverture d'un e-mail ne peut être considérée
comme un contact émanant du prospect"). The clock runs from the latest
contact, or from the collection of the data when there was none.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from consent_center.clock import utcnow
from consent_center.models import Account, ConsentEvent, Subject
from consent_center.models.vocabulary import FROM_THE_PERSON, Status
from consent_center.subjects.crm import SubjectErased

# What a marketing tool may report (POST /api/v1/subjects/{id}/activity).
REPORTED_KINDS = ("purchase", "click", "reply", "visit")
# Reported, and refused with the reason: not the person's doing.
NOT_CONTACT = {"open": "a mail open is not a contact coming from the person"}
# How far ahead of the center's clock a reported moment may be: a tool's clock that runs a
# little fast is not refused, and its moment is taken as now (a contact is never in the future).
CLOCK_SKEW = timedelta(minutes=5)


def note_contact(subject: Subject, kind: str, at: datetime | None = None) -> bool:
    """Record a contact from the person at ``at`` (now); True if it moved their clock forward."""
    at = at or utcnow()
    known = [m for m in (subject.last_contact_at, subject.created_at) if m is not None]
    if known and at <= max(known):
        return False  # before what the clock already runs from
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
    # The person's own yes: a withdrawal (or a tool's "sunset" of the inactive) is no reason to keep them.
    changes = (select(ConsentEvent.subject_id, func.max(ConsentEvent.occurred_at).label("at"))
               .where(ConsentEvent.source.in_([str(s) for s in FROM_THE_PERSON]),
                      ConsentEvent.status == Status.GRANTED))
    if subject_ids is not None:
        changes = changes.where(ConsentEvent.subject_id.in_(subject_ids))
    last_change = changes.group_by(ConsentEvent.subject_id).subquery()
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


class ActivityRefused(ValueError):
    """Reported activity that is not recorded: not a contact, or not a moment that has come."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def kind_refusal(kind: str) -> str | None:
    """Why ``kind`` is not recorded as a contact from the person, or None when it is."""
    if kind in REPORTED_KINDS:
        return None
    allowed = ", ".join(REPORTED_KINDS)
    if kind in NOT_CONTACT:
        return (f"{kind!r} is not recorded: {NOT_CONTACT[kind]} (CNIL); it never restarts the retention "
                f"clock. Report only what the person did: {allowed}.")
    return f"Unknown kind {kind!r}; one of: {allowed}."


@dataclass(frozen=True)
class Reported:
    counted: bool  # whether it became the person's last contact
    clock: Clock  # the subject's retention clock, after it


def report_activity(session: Session, subject: Subject, kind: str, at: datetime | None = None) -> Reported:
    """Record activity a marketing tool reports (a purchase, a click, …) as a contact from the person.

    An open is refused, whatever calls this: it must never move a clock. A
    moment older than the last contact is accepted and changes nothing. A
    restricted subject's activity is recorded: it is a fact about the
    person, not processing for marketing (and retention holds a restricted
    subject anyway). An erased subject takes nothing (``SubjectErased``).
    """
    refusal = kind_refusal(kind)
    if refusal is not None:
        raise ActivityRefused("kind", refusal)
    if subject.erased_at is not None:
        raise SubjectErased(subject.public_id)
    now = utcnow()
    if at is not None and at.tzinfo is None:
        raise ActivityRefused("at", "A moment without its offset is not known on which clock it was read.")
    if at is not None and at > now + CLOCK_SKEW:
        raise ActivityRefused("at", f"Later than the center's clock ({now.isoformat(timespec='seconds')}) by more "
                                    f"than {CLOCK_SKEW.seconds // 60} minutes: activity is reported once it happened.")
    counted = note_contact(subject, kind, min(at or now, now))
    session.flush()
    return Reported(counted, clocks(session, [subject.id])[0])
