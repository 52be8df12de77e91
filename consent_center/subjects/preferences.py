"""The customer's own preferences: what the space shows and saves."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from consent_center.check.answer import lapses_at
from consent_center.ledger import Actor, Recorded, current_states, record_change
from consent_center.models import Channel, ConsentEvent, ConsentState, PolicyVersion, Subject
from consent_center.models.vocabulary import ActorType, Source, Status


@dataclass
class ChannelPreference:
    channel: Channel
    state: ConsentState | None

    @property
    def active(self) -> bool:
        return self.state is not None and self.state.status == Status.GRANTED

    @property
    def changed_at(self) -> datetime | None:
        return self.state.changed_at if self.state else None

    @property
    def lapses_at(self) -> datetime | None:
        """When this channel's consent lapses, unless renewed (None: it does not lapse)."""
        if self.state is None:
            return None
        return lapses_at(self.state.status, self.state.basis, self.state.changed_at, self.channel.validity_months)

    @property
    def policy_version(self) -> PolicyVersion | None:
        return self.state.policy_version if self.state else None


def active_channels(session: Session) -> list[Channel]:
    return list(session.scalars(
        select(Channel).where(Channel.active.is_(True)).order_by(Channel.position, Channel.code)
    ))


def preferences_of(session: Session, subject: Subject) -> list[ChannelPreference]:
    states = current_states(session, subject)
    return [ChannelPreference(c, states.get(c.id)) for c in active_channels(session)]


def save_preferences(
    session: Session, subject: Subject, active_codes: set[str], *, account_id: int | None, trace: dict,
    source: Source = Source.CUSTOMER_SPACE,
) -> Recorded:
    """Switch each shown channel to Active if its code is in ``active_codes``.

    Switching off withdraws; a channel never asked and left off stays as it is.
    A channel left on keeps its basis: a switch found on (the soft opt-in of a
    customer) and saved as it was is no consent given.
    ``account_id`` is None on the page reached by a manage link (no login).
    """
    changes: dict[str, str] = {}
    basis: dict[str, str] = {}
    for pref in preferences_of(session, subject):
        code = pref.channel.code
        if code in active_codes:
            changes[code] = Status.GRANTED
            if pref.active:
                basis[code] = pref.state.basis
        elif pref.active:
            changes[code] = Status.WITHDRAWN
    if account_id is not None:
        trace = trace | {"account": account_id}
    return record_change(
        session, subject, changes, source=source, basis=basis,
        actor=Actor(ActorType.SUBJECT, subject.public_id), trace=trace,
    )


def history_of(session: Session, subject: Subject, *, limit: int = 50, before: int | None = None):
    """Return a page of the subject's events, newest first."""
    stmt = select(ConsentEvent).where(ConsentEvent.subject_id == subject.id)
    if before is not None:
        stmt = stmt.where(ConsentEvent.seq < before)
    return list(session.scalars(stmt.order_by(ConsentEvent.seq.desc()).limit(limit)))


def commercial_active(session: Session, subject: Subject) -> list[Channel]:
    """The commercial channels the person receives now: what "unsubscribe from everything" stops."""
    return [p.channel for p in preferences_of(session, subject) if p.channel.commercial and p.active]


def withdraw_all_commercial(session: Session, subject: Subject, shown: set[str], *, account_id: int | None,
                            trace: dict, source: Source = Source.CUSTOMER_SPACE) -> Recorded:
    """Withdraw every commercial channel the confirmation showed that is still active, in one receipt.

    Only those ``shown``: a channel switched on in another tab after the
    confirmation was shown is not withdrawn behind the person's back, and
    the same confirmation sent again records nothing.
    """
    changes = {c.code: Status.WITHDRAWN for c in commercial_active(session, subject) if c.code in shown}
    if account_id is not None:
        trace = trace | {"account": account_id}
    return record_change(session, subject, changes, source=source,
                         actor=Actor(ActorType.SUBJECT, subject.public_id), trace=trace,
                         evidence={"scope": "all_commercial"})
