"""The re-permission campaign: every "still interested?" asked, its answer, who is due at the next `retention run`."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import render_template
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from consent_center.admin import bp, every_staff_role
from consent_center.clock import utcnow
from consent_center.extensions import db
from consent_center.models import Account, DataRequest, RepermissionRequest, Role, Subject
from consent_center.rights import repermission
from consent_center.rights.requests import OPEN_STATUSES
from consent_center.rights.retention import Due, due_subjects

# The page is read whole; past these, it says how many it leaves out (and the command that lists them all).
QUESTIONS_SHOWN = 200
DUE_SHOWN = 100

RULE_LABELS = {"prospect": _l("Prospect"), "account": _l("Customer account")}
OUTCOME_LABELS = {
    "open": _l("Asked, waiting for an answer"),
    "unanswered": _l("No answer by the deadline: erased at the next run"),
    "renewed": _l("Renewed: they said yes"),
    "superseded": _l("Superseded: they came back another way"),
    "erased": _l("Erased: no answer by the deadline"),
}
# What the next run does, person by person; ``retention.due_subjects`` says which step is due.
STEP_LABELS = {
    "ask": _l("Will be asked"),
    "erase": _l("Will be erased"),
    "unaskable": _l("Cannot be asked: erased once the period ends"),
    "hold": _l("Held"),
}
WHY_LABELS = {
    "unanswered": _l("Asked; no yes by the deadline."),
    "unaskable": _l("Cannot be asked: no deliverable address, or no channel they still receive."),
    "no_notice": _l("Nobody is asked first: the notice is 0 days."),
    "restricted": _l("Processing restricted (GDPR art. 18)."),
    "request": _l("A data request is open: it is answered first."),
}
STEP_ORDER = {"erase": 0, "ask": 1, "unaskable": 2, "hold": 3}


def outcome_of(question: RepermissionRequest) -> str:
    """The question's outcome, an unanswered one told apart from one still open."""
    if question.outcome == repermission.OPEN:
        return "open" if repermission.still_open(question) else "unanswered"
    return question.outcome


def outcome_counts(session: Session, now: datetime) -> dict[str, int]:
    """How many questions ended each way, over the whole campaign."""
    counts = dict.fromkeys(OUTCOME_LABELS, 0)
    for outcome, count in session.execute(select(RepermissionRequest.outcome, func.count())
                                          .group_by(RepermissionRequest.outcome)):
        counts[outcome] = count
    late = session.scalar(select(func.count()).select_from(RepermissionRequest).where(
        RepermissionRequest.outcome == repermission.OPEN, RepermissionRequest.due_at < now))
    counts["open"], counts["unanswered"] = counts.pop(repermission.OPEN, 0) - late, late
    return counts


@dataclass(frozen=True)
class DueLine:
    subject: Subject
    rule: str
    period_end: datetime
    step: str
    why: list[str]
    question: RepermissionRequest | None


def due_lines(session: Session, due: list[Due], now: datetime) -> list[DueLine]:
    """What the next run does to each of ``due``, and why."""
    ids = [d.clock.subject_id for d in due]
    subjects = {s.id: s for s in session.scalars(select(Subject).where(Subject.id.in_(ids)))}
    accounts = {a.subject_id: a for a in session.scalars(select(Account).where(Account.subject_id.in_(ids)))}
    requested = set(session.scalars(select(DataRequest.subject_id).where(
        DataRequest.subject_id.in_(ids), DataRequest.status.in_(OPEN_STATUSES))))
    asking = repermission.notice().days > 0
    lines = []
    for d in due:
        subject, ends = subjects[d.clock.subject_id], repermission.period_end(d.clock)
        step, why = d.action, []
        if step == "ask" and repermission.address_to_ask(session, subject, accounts.get(subject.id)) is None:
            # As `retention run` decides: one who cannot be asked goes once the period is over.
            step, why = ("erase" if now > ends else "unaskable"), ["unaskable"]
        elif step == "erase":
            why = ["unanswered" if d.question is not None else "no_notice" if not asking else "unaskable"]
        elif step == "hold":
            why = (["restricted"] if subject.restricted_at is not None else []) + \
                  (["request"] if subject.id in requested else [])
        lines.append(DueLine(subject, d.clock.rule, ends, step, why, d.question))
    return lines


@bp.get("/repermission")
@every_staff_role
def repermission_campaign():
    session, now = db.session, utcnow()
    questions = repermission.campaign(session, limit=QUESTIONS_SHOWN)
    # One query for the people of the page's questions, instead of one per row.
    session.scalars(select(Subject).where(Subject.id.in_({q.subject_id for q in questions}))).all()
    counts = outcome_counts(session, now)
    due = due_subjects(session, now)
    steps = {action: sum(d.action == action for d in due) for action in ("ask", "erase", "hold", "wait")}
    next_run = [d for d in due if d.action != "wait"]
    next_run.sort(key=lambda d: (STEP_ORDER[d.action], repermission.period_end(d.clock)))
    lines = due_lines(session, next_run[:DUE_SHOWN], now)
    lines.sort(key=lambda line: (STEP_ORDER[line.step], line.period_end))
    return render_template(
        "admin/repermission.html", questions=questions, total=sum(counts.values()), counts=counts,
        steps=steps, lines=lines, next_run_total=len(next_run), outcome_of=outcome_of,
        outcome_labels=OUTCOME_LABELS, rule_labels=RULE_LABELS, step_labels=STEP_LABELS, why_labels=WHY_LABELS,
        notice_days=repermission.notice().days,
        person_endpoint="audit.subject" if current_user.role == Role.AUDITOR else "admin.person")
