"""Re-consent: after a material policy change, customers confirm or change their choices.

Until they do, the choices made under the earlier version stay valid; the
confirmation renews each choice under the version now in force.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from consent_center.clock import utcnow
from consent_center.ledger import Actor, Recorded, current_states, record_change
from consent_center.models import ConsentState, PolicyVersion, Subject
from consent_center.models.vocabulary import ActorType, Source, Status
from consent_center.subjects.preferences import active_channels


@dataclass(frozen=True)
class ReconsentDue:
    """The material version to confirm under, and the one the person's choices were made under."""

    version: PolicyVersion
    previous: PolicyVersion | None


def latest_material_version(session: Session) -> PolicyVersion | None:
    """Return the newest material version already in force."""
    return session.scalars(
        select(PolicyVersion)
        .where(PolicyVersion.material.is_(True), PolicyVersion.effective_at <= utcnow())
        .order_by(PolicyVersion.effective_at.desc(), PolicyVersion.id.desc())
        .limit(1)
    ).first()


def _stale_states(session: Session, subject: Subject, version: PolicyVersion) -> list[ConsentState]:
    """The person's expressed choices (never-asked ones aside) made before ``version`` came into force."""
    shown = {channel.id for channel in active_channels(session)}
    return [state for state in current_states(session, subject).values()
            if state.channel_id in shown and state.status != Status.NEVER_ASKED
            and state.changed_at < version.effective_at]


def reconsent_due(session: Session, subject: Subject) -> ReconsentDue | None:
    """Return what the person is asked to confirm, or None when nothing is."""
    version = latest_material_version(session)
    if version is None:
        return None
    stale = _stale_states(session, subject, version)
    if not stale:
        return None
    newest = max(stale, key=lambda state: state.changed_at)
    return ReconsentDue(version, newest.policy_version)


def confirm_choices(session: Session, subject: Subject, active_codes: set[str], *, account_id: int | None,
                    trace: dict) -> Recorded:
    """Record the person's choices again under the version in force, as renewed events.

    A checked channel is granted (keeping the basis it rested on if it was
    already granted), an unchecked granted one withdrawn, and an unchecked
    refusal or withdrawal is renewed as it is.
    """
    states = current_states(session, subject)
    changes: dict[str, str] = {}
    basis: dict[str, str] = {}
    for channel in active_channels(session):
        state = states.get(channel.id)
        current = state.status if state else Status.NEVER_ASKED
        if channel.code in active_codes:
            changes[channel.code] = Status.GRANTED
            if current == Status.GRANTED:
                basis[channel.code] = state.basis
        elif current == Status.GRANTED:
            changes[channel.code] = Status.WITHDRAWN
        elif current != Status.NEVER_ASKED:
            changes[channel.code] = current
    if account_id is not None:
        trace = trace | {"account": account_id}
    return record_change(session, subject, changes, source=Source.RECONSENT,
                         actor=Actor(ActorType.SUBJECT, subject.public_id), basis=basis, trace=trace,
                         renew=True)
