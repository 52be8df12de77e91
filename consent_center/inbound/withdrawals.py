"""What a STOP or a complaint changes for the people it names: every active channel of one medium, withdrawn."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from consent_center.ledger import Actor, current_states, lock_subject, record_change
from consent_center.models import Channel, Subject
from consent_center.models.vocabulary import ActorType, Status


def channels_of(session: Session, medium: str) -> list[Channel]:
    return list(session.scalars(select(Channel).where(Channel.medium == medium).order_by(Channel.position)))


def withdraw_medium(session: Session, subjects: list[Subject], medium: str, *, source: str,
                    evidence: dict) -> dict[str, list[str]]:
    """Withdraw each subject's granted channels of ``medium``, as the person (public id -> channel codes).

    As an unsubscribe link does: what is active stops; a refusal or a restriction stays what it is.
    """
    channels = channels_of(session, medium)
    withdrawn: dict[str, list[str]] = {}
    for subject in subjects:
        lock_subject(session, subject)
        states = current_states(session, subject)
        changes = {c.code: Status.WITHDRAWN for c in channels
                   if (state := states.get(c.id)) is not None and state.status == Status.GRANTED}
        recorded = record_change(session, subject, changes, source=source,
                                 actor=Actor(ActorType.SUBJECT, subject.public_id), evidence=evidence)
        if recorded.events:
            withdrawn[subject.public_id] = [event.channel.code for event in recorded.events]
    return withdrawn
