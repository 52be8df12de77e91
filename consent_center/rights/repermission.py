"""Re-permission: before a retention period ends, ask once whether the person still wants to hear from us.

CNIL's commercial reference (and, as a stated default, Belgium's and the
Netherlands'): at the end of the period the company may ask the person once;
without a clear yes, the data goes. ``retention run`` asks, through the
outbox in the person's language, ``CONSENT_REPERMISSION_NOTICE_DAYS`` before
the period ends (0: never asks); the e-mail's signed link leads to a page
with one clear yes (``rights/still_interested``). A yes renews every channel
the check allows today (``renewable``: ledger events, source ``repermission``,
with the question as evidence) and restarts their clock; no answer by the question's
deadline, and the next run erases.

A prospect is asked only while they receive e-mail from us (an e-mail
channel granted): the question would otherwise be an unsolicited e-mail. A
customer account's holder is always told before it closes.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from consent_center import tokens
from consent_center.clock import utcnow
from consent_center.check.answer import State
from consent_center.check.blocks import answers_now
from consent_center.check.channels import channel_rules
from consent_center.ledger import Actor, Recorded, current_states, record_change
from consent_center.models import Account, Channel, RepermissionRequest, Subject
from consent_center.models.vocabulary import ActorType, EventType, Medium, Source, Status
from consent_center.outbox.mail.messages import enqueue_email
from consent_center.subjects.contact import Clock, note_contact
from consent_center.subjects.channel_suppression import lists_naming
from consent_center.subjects.deliverability import undeliverable_among

OPEN = "asked"


class QuestionClosed(ValueError):
    """The link's question was answered, replaced by a newer contact, or its person erased."""


def years_after(moment: datetime, years: int) -> datetime:
    """The same calendar instant ``years`` later (29 February becomes the 28th)."""
    try:
        return moment.replace(year=moment.year + years)
    except ValueError:
        return moment.replace(year=moment.year + years, day=28)


def period_end(clock: Clock) -> datetime:
    """When the subject's retention period ends, from their last contact."""
    key = "RETENTION_ACCOUNT_YEARS" if clock.has_account else "RETENTION_PROSPECT_YEARS"
    return years_after(clock.since, current_app.config[key])


def notice() -> timedelta:
    return timedelta(days=current_app.config["REPERMISSION_NOTICE_DAYS"])


def question_for(session: Session, clock: Clock) -> RepermissionRequest | None:
    """The question asked for this period of the subject's, if any."""
    return session.scalars(select(RepermissionRequest).where(
        RepermissionRequest.subject_id == clock.subject_id,
        RepermissionRequest.clock_from == clock.since)).first()


def address_to_ask(session: Session, subject: Subject, account: Account | None) -> str | None:
    """Where the question goes, or None when it cannot or may not be asked."""
    address = subject.email or (account.email if account else None)
    if address is None or undeliverable_among(session, [address]):
        return None
    customers = frozenset({address}) if subject.is_customer else frozenset()
    if lists_naming(session, [address], Medium.EMAIL, customers=customers):
        return None  # on an e-mail suppression list in force (a complaint, a register): not written to
    if account is None and not any(channel.medium == Medium.EMAIL for channel in renewable(session, subject, utcnow())):
        return None
    return address


def ask(session: Session, subject: Subject, account: Account | None, clock: Clock,
        address: str) -> RepermissionRequest:
    """Queue the question and record it; the answer is due at the period's end, and never sooner than the notice."""
    now = utcnow()
    question = RepermissionRequest(subject_id=subject.id, rule=clock.rule, clock_from=clock.since,
                                   asked_at=now, due_at=max(period_end(clock), now + notice()))
    session.add(question)
    session.flush()
    enqueue_email(session, topic="repermission", to=address, locale=subject.locale or "fr",
                  name=subject.name, subject=subject.public_id, question=question.public_id, rule=clock.rule,
                  due_at=question.due_at.isoformat())
    return question


def question_of(session: Session, token: str) -> RepermissionRequest:
    """The question a link names; raises TokenError (bad link) or QuestionClosed."""
    payload = tokens.load("repermission", token)
    if not isinstance(payload, dict) or not isinstance(payload.get("q"), str):
        raise tokens.TokenError("invalid")
    question = session.scalars(select(RepermissionRequest).where(
        RepermissionRequest.public_id == payload["q"])).first()
    if question is None or question.subject.erased_at is not None:
        raise tokens.TokenError("invalid")
    return question


def still_open(question: RepermissionRequest) -> bool:
    """Whether a yes may still be given: asked, not answered, not superseded, not past its deadline."""
    return question.outcome == OPEN and utcnow() <= question.due_at


@dataclass
class Answer:
    recorded: Recorded | None
    already: bool  # a yes given before (a double click, a second tab)


def answer_yes(session: Session, question: RepermissionRequest, *, trace: dict) -> Answer:
    """The person's yes: renew every channel they still receive, restart their clock."""
    session.refresh(question, with_for_update=True)  # six clicks at once: one yes, the others see it
    if question.outcome == "renewed":
        return Answer(None, already=True)
    if not still_open(question):
        raise QuestionClosed(question.outcome)
    subject = question.subject
    now = utcnow()
    granted = {channel.code: basis for channel, basis in renewable(session, subject, now).items()}
    recorded = None
    if granted:
        recorded = record_change(
            session, subject, dict.fromkeys(granted, Status.GRANTED), basis=granted, source=Source.REPERMISSION,
            actor=Actor(ActorType.SUBJECT, subject.public_id), renew=True, event_type=EventType.RENEWED,
            evidence={"repermission": question.public_id, "asked_at": question.asked_at.isoformat()}, trace=trace)
    note_contact(subject, "repermission", now)
    question.answered_at, question.outcome = now, "renewed"
    session.flush()
    return Answer(recorded, already=False)


def renewable(session: Session, subject: Subject, now: datetime) -> dict[Channel, str]:
    """The channels a yes renews, with their basis: those the check answers allowed today, a list
    in force, an undeliverable address or an erased number included (``answers_now``).

    Not a consent that has lapsed (validity) or awaits re-consent to a material
    policy version: the question shows neither the policy nor the consent's
    terms. Not a channel that shares with partners: the question does not name
    them. Those keep their own ways back (the reminder, the re-consent page).
    """
    connection = session.connection()
    states = [state for state in current_states(session, subject).values()
              if state.status == Status.GRANTED and not state.channel.shares_with_partners]
    answers = answers_now(connection, now, [(State(state.status, state.basis, state.changed_at),
                                             channel_rules(connection, state.channel_id), subject)
                                            for state in states])
    return {state.channel: state.basis for state, answer in zip(states, answers) if answer.allowed}


def campaign(session: Session, *, limit: int = 500) -> list[RepermissionRequest]:
    """The latest questions, newest first: who was asked, who answered, who is due."""
    return list(session.scalars(select(RepermissionRequest).order_by(RepermissionRequest.asked_at.desc(),
                                                                     RepermissionRequest.id.desc()).limit(limit)))
