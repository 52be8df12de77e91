"""Retention: erase whom the jurisdiction's rules keep no longer, after asking once.

The periods are the jurisdiction's (``jurisdictions.py``, ``CONSENT_RETENTION_*``):

- a contact without an account (a prospect) is kept ``RETENTION_PROSPECT_YEARS``
  from the last contact coming from them, or from the collection of their data;
- a customer account, ``RETENTION_ACCOUNT_YEARS`` from its last activity
  (a login, a contact from its holder, its creation);
- before either ends, the person is asked once whether they still want to
  hear from us (``repermission.py``); a yes restarts the clock, silence by
  the deadline and the next run erases;
- a subject whose processing is restricted (GDPR art. 18) or who has a
  request open is held, not erased: the restriction keeps the data, the
  request must be answered first;
- fingerprints of objections (erasures on request, STOPs, complaints) go
  ``RETENTION_OBJECTION_YEARS`` after they were taken;
- the records of answered requests of an erased person go
  ``RETENTION_PROOF_YEARS`` after the erasure (the limitation period);
- inbound texts that changed nothing are blanked ``RETENTION_INBOUND_DAYS``
  after they came.

Erasure is ``rights.erasure.erase``, the same path as an erasure request,
except that the address is not put on the suppression list (a person who
comes back may sign up again) unless the person said stop less than
``RETENTION_OBJECTION_YEARS`` ago: their objection's fingerprint outlives them.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Callable

from flask import current_app
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from consent_center.clock import utcnow
from consent_center.inbound.evidence import forget_unacted
from consent_center.ledger import Actor
from consent_center.models import Account, ConsentEvent, ConsentState, DataRequest, RepermissionRequest, Subject
from consent_center.models.vocabulary import Source, Status
from consent_center.rights import repermission
from consent_center.rights.erasure import erase
from consent_center.rights.requests import OPEN_STATUSES
from consent_center.subjects.channel_suppression import forget_objections_taken_before
from consent_center.subjects.contact import Clock, clocks
from consent_center.subjects.suppression import forget_fingerprints_taken_before


def years_before(moment: datetime, years: int) -> datetime:
    """The same calendar instant ``years`` earlier (29 February becomes the 28th)."""
    return repermission.years_after(moment, -years)


@dataclass
class RetentionReport:
    accounts: list[str] = field(default_factory=list)  # public ids erased (or to erase) by rule
    prospects: list[str] = field(default_factory=list)
    asked: list[str] = field(default_factory=list)  # asked "still interested?" this run
    held: list[str] = field(default_factory=list)  # past their period, held by a restriction or an open request
    checked: int = 0
    inbound: int = 0  # inbound messages blanked (or to blank)
    fingerprints: int = 0  # objection fingerprints past their period, dropped
    request_records: int = 0  # records of an erased person's requests past the proof period, dropped

    @property
    def erased(self) -> int:
        return len(self.accounts) + len(self.prospects)


@dataclass(frozen=True)
class Due:
    """A subject whose period ends within the notice, and what retention does about it."""

    clock: Clock
    action: str  # "ask", "erase", "wait" (asked, not due yet), "hold"
    question: RepermissionRequest | None = None


def due_subjects(session: Session, now: datetime | None = None) -> list[Due]:
    """Every subject whose retention period ends within the notice, with the step that is due."""
    now = now or utcnow()
    asking = repermission.notice()
    held = _held_subject_ids(session)
    due = []
    for clock in clocks(session):
        ends = repermission.period_end(clock)
        if now < ends - asking:
            continue
        question = repermission.question_for(session, clock)
        if clock.subject_id in held:
            due.append(Due(clock, "hold", question))
        elif question is not None:
            waiting = question.outcome == repermission.OPEN and now <= question.due_at
            due.append(Due(clock, "wait" if waiting or question.outcome == "renewed" else "erase", question))
        elif asking:
            due.append(Due(clock, "ask"))  # erased only if it cannot be asked, once the period is over
        elif now > ends:
            due.append(Due(clock, "erase"))
    return due


def _held_subject_ids(session: Session) -> set[int]:
    restricted = select(Subject.id).where(Subject.restricted_at.is_not(None), Subject.erased_at.is_(None))
    requested = select(DataRequest.subject_id).where(DataRequest.status.in_(OPEN_STATUSES))
    return set(session.scalars(restricted)) | set(session.scalars(requested))


def run_retention(session: Session, *, dry_run: bool = False,
                  progress: Callable[[int], None] | None = None) -> RetentionReport:
    """Ask, erase or hold every subject at the end of their period (or only list them, dry run)."""
    report = RetentionReport()
    now = utcnow()
    due = due_subjects(session, now)
    report.checked = len(due)
    _close_superseded(session, dry_run)
    for step in due:
        subject = session.get(Subject, step.clock.subject_id)
        account = session.scalars(select(Account).where(Account.subject_id == subject.id)).first()
        action = step.action
        if action == "ask":
            address = repermission.address_to_ask(session, subject, account)
            if address is not None:
                report.asked.append(subject.public_id)
                if not dry_run:
                    repermission.ask(session, subject, account, step.clock, address)
            elif now > repermission.period_end(step.clock):
                action = "erase"
        if action == "hold":
            report.held.append(subject.public_id)
        if action == "erase" and step.question is not None and not dry_run:
            session.refresh(step.question, with_for_update=True)
            if step.question.outcome == "renewed":  # a yes that came while this run went
                action = "wait"
        if action == "erase":
            (report.accounts if step.clock.has_account else report.prospects).append(subject.public_id)
            if not dry_run:
                if step.question is not None:
                    step.question.outcome = "erased"
                objected_at = _objection_still_kept(session, subject, now)
                erase(session, subject, actor=Actor.system(), reason="objection" if objected_at else "retention",
                      suppress_address=objected_at is not None, objected_at=objected_at)
        if progress:
            progress(1)
    report.fingerprints = _forget_objections(session, now, dry_run)
    report.request_records = _forget_request_records(session, now, dry_run)
    limit = now - timedelta(days=current_app.config["RETENTION_INBOUND_DAYS"])
    report.inbound = forget_unacted(session, limit, dry_run=dry_run)
    return report


def _close_superseded(session: Session, dry_run: bool) -> None:
    """Questions whose person came back another way since: their period is no longer the one asked about."""
    if dry_run:
        return
    open_questions = list(session.scalars(select(RepermissionRequest).where(
        RepermissionRequest.outcome == repermission.OPEN)))
    since = {c.subject_id: c.since for c in clocks(session, [q.subject_id for q in open_questions])}
    for question in open_questions:
        current = since.get(question.subject_id)
        if current is not None and current > question.clock_from:
            question.outcome = "superseded"


# Withdrawals the person made themself, or told a tool or staff: each an objection to that processing.
_OBJECTING = (Source.CUSTOMER_SPACE, Source.UNSUBSCRIBE_LINK, Source.MANAGE_LINK, Source.OBJECTION,
              Source.SMS_KEYWORD, Source.COMPLAINT, Source.STAFF, Source.API, Source.RECONSENT)


def _objection_still_kept(session: Session, subject: Subject, now: datetime) -> datetime | None:
    """When the person last said stop, if its fingerprint must outlive this erasure (else None).

    A period shorter than the objections' (NL prospects, accounts) must not
    let a re-import bring back someone who said stop: their addresses go on
    the suppression list, dated at the objection, and leave it on schedule."""
    # A stop that still stands: the channel's state today is that withdrawal (one undone since is none).
    said_stop = session.scalar(select(func.max(ConsentEvent.occurred_at))
                               .join(ConsentState, ConsentState.event_id == ConsentEvent.id).where(
        ConsentState.subject_id == subject.id, ConsentState.status.in_((Status.WITHDRAWN, Status.REFUSED)),
        ConsentEvent.source.in_([str(s) for s in _OBJECTING])))
    if said_stop is None or said_stop < years_before(now, current_app.config["RETENTION_OBJECTION_YEARS"]):
        return None
    return said_stop


def _forget_objections(session: Session, now: datetime, dry_run: bool) -> int:
    limit = years_before(now, current_app.config["RETENTION_OBJECTION_YEARS"])
    return (forget_fingerprints_taken_before(session, limit, dry_run=dry_run)
            + forget_objections_taken_before(session, limit, dry_run=dry_run))


def _forget_request_records(session: Session, now: datetime, dry_run: bool) -> int:
    limit = years_before(now, current_app.config["RETENTION_PROOF_YEARS"])
    stale = select(DataRequest.id).join(Subject, Subject.id == DataRequest.subject_id).where(
        Subject.erased_at < limit, DataRequest.status.not_in(OPEN_STATUSES))
    ids = list(session.scalars(stale))
    if ids and not dry_run:
        session.execute(delete(DataRequest).where(DataRequest.id.in_(ids)))
    return len(ids)
