"""Unsubscribe links: what a signed link names, and the changes it may make.

A link names one subject and one channel (``tokens.unsubscribe_token``).
It may withdraw that channel, or every commercial channel, and, for a
short while after, undo that withdrawal ("I clicked by mistake"). It can
never grant anything else: a link in a forwarded or leaked e-mail must
not be a way to subscribe someone.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from consent_center import tokens
from consent_center.clock import utcnow
from consent_center.ledger import Actor, Recorded, current_states, lock_subject, record_change
from consent_center.models import Channel, ConsentEvent, Subject
from consent_center.models.vocabulary import ActorType, Source, Status
from consent_center.tokens import TokenError
from consent_center.urls import unsubscribe_url

# How long after an unsubscribe the same link may undo it.
UNDO_WINDOW = timedelta(days=1)
ONE_CLICK_BODY = "List-Unsubscribe=One-Click"


class LinkError(ValueError):
    """A link that is forged, tampered with, expired, or names no one we know.

    Deliberately one error: the answer must not tell which.
    """


@dataclass
class Target:
    """What a valid link names."""

    subject: Subject
    channel: Channel


@dataclass
class LinkView:
    """What the unsubscribe page shows."""

    target: Target
    active: bool
    commercial_active: list[Channel] = field(default_factory=list)
    undoable: list[ConsentEvent] = field(default_factory=list)


def link_for(subject_public_id: str, channel_code: str) -> dict:
    """Return the link and the exact RFC 2369 / RFC 8058 headers a marketing message carries."""
    url = unsubscribe_url(subject_public_id, channel_code)
    return {"url": url, "headers": {"List-Unsubscribe": f"<{url}>", "List-Unsubscribe-Post": ONE_CLICK_BODY}}


def unsubscribe_headers(subject_public_id: str, channel_code: str) -> dict[str, str]:
    """Return the headers a marketing e-mail carries."""
    return link_for(subject_public_id, channel_code)["headers"]


def resolve(session: Session, token: str) -> Target:
    """Return the subject and channel a valid link names, else raise LinkError."""
    try:
        public_id, code = tokens.read_unsubscribe_token(token)
    except TokenError:
        raise LinkError("invalid link") from None
    subject = session.scalars(select(Subject).where(Subject.public_id == public_id)).first()
    channel = session.scalars(select(Channel).where(Channel.code == code, Channel.active.is_(True))).first()
    if subject is None or channel is None:
        raise LinkError("invalid link")
    return Target(subject, channel)


def _commercial_channels(session: Session) -> list[Channel]:
    return list(session.scalars(
        select(Channel).where(Channel.active.is_(True), Channel.commercial.is_(True))
        .order_by(Channel.position, Channel.code)))


def view(session: Session, target: Target) -> LinkView:
    """Return what the page shows about the link's subject and channel."""
    states = current_states(session, target.subject)

    def active(channel: Channel) -> bool:
        state = states.get(channel.id)
        return state is not None and state.status == Status.GRANTED

    return LinkView(
        target=target, active=active(target.channel),
        commercial_active=[c for c in _commercial_channels(session) if active(c)],
        undoable=undoable(session, target),
    )


def withdraw(session: Session, target: Target, *, everything: bool, method: str, trace: dict) -> Recorded:
    """Withdraw the link's channel (or every commercial one) where it is active.

    A channel that is not active is left as it is — a restriction or a
    refusal stays what it is — so a repeated POST records nothing.
    """
    lock_subject(session, target.subject)
    channels = _commercial_channels(session) if everything else []
    if target.channel not in channels:
        channels.append(target.channel)
    states = current_states(session, target.subject)
    changes = {
        c.code: Status.WITHDRAWN for c in channels
        if states.get(c.id) is not None and states[c.id].status == Status.GRANTED
    }
    return record_change(
        session, target.subject, changes, source=Source.UNSUBSCRIBE_LINK,
        actor=Actor(ActorType.SUBJECT, target.subject.public_id), trace=trace,
        evidence={"link_channel": target.channel.code, "method": method,
                  "scope": "all_commercial" if everything else "channel"},
    )


def undoable(session: Session, target: Target) -> list[ConsentEvent]:
    """Return the withdrawals an undo through this link would reverse (maybe none).

    Only the subject's latest change by unsubscribe link, if it withdrew
    this link's channel less than UNDO_WINDOW ago, and only the channels
    nothing has changed since.
    """
    last = session.scalars(
        select(ConsentEvent)
        .where(ConsentEvent.subject_id == target.subject.id, ConsentEvent.source == Source.UNSUBSCRIBE_LINK)
        .order_by(ConsentEvent.seq.desc()).limit(1)
    ).first()
    if last is None or last.status != Status.WITHDRAWN or utcnow() - last.occurred_at > UNDO_WINDOW:
        return []
    withdrawn = list(session.scalars(
        select(ConsentEvent).where(ConsentEvent.receipt_id == last.receipt_id,
                                   ConsentEvent.status == Status.WITHDRAWN)
        .order_by(ConsentEvent.seq)))
    if target.channel.id not in {e.channel_id for e in withdrawn}:
        return []
    states = current_states(session, target.subject)
    return [e for e in withdrawn
            if states.get(e.channel_id) is not None and states[e.channel_id].event_id == e.id]


def undo(session: Session, target: Target, *, trace: dict) -> Recorded:
    """Grant again, on the basis they had, the channels the last unsubscribe withdrew."""
    lock_subject(session, target.subject)
    events = undoable(session, target)
    return record_change(
        session, target.subject, {e.channel.code: Status.GRANTED for e in events},
        basis={e.channel.code: e.basis for e in events},
        source=Source.UNSUBSCRIBE_LINK, actor=Actor(ActorType.SUBJECT, target.subject.public_id),
        evidence={"link_channel": target.channel.code, "method": "page", "scope": "undo",
                  "undoes": [e.public_id for e in events]},
        trace=trace,
    )
