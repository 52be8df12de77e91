"""Unsubscribe links: what a signed link names, and the changes it may make.

A link names one subject and one channel (``tokens.unsubscribe_token``).
Alone, it may only withdraw that channel: that is RFC 8058's one-click,
and the safe direction. The page's broader buttons, stop every commercial
channel and undo ("I clicked by mistake"), also need a short-lived nonce
that only the HTML page carries (``tokens.page_nonce``): the one to stop
everything names the channels the page listed; the one to undo names the
events the person's own click on the page had just written, and is shown
only on the page that answered that click. So a link in a forwarded or
leaked e-mail, or a tool that minted it, can never give consent back or
undo a mail provider's one-click, and a bare POST stops nothing more.
"""
from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from consent_center import tokens
from consent_center.ledger import Actor, Recorded, current_states, lock_subject, record_change
from consent_center.models import Channel, ConsentEvent, Subject
from consent_center.models.vocabulary import ActorType, Source, Status
from consent_center.tokens import TokenError
from consent_center.urls import unsubscribe_url

ONE_CLICK_BODY = "List-Unsubscribe=One-Click"


class LinkError(ValueError):
    """A link that is forged, tampered with, expired, or names no one we know.

    Deliberately one error: the answer must not tell which.
    """


class NonceError(ValueError):
    """A page button sent without a valid nonce for this link: forged, expired, or from another page."""


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
    # The nonce of the "stop every commercial channel" button, when it is offered.
    stop_all_nonce: str | None = None


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


def view(session: Session, target: Target, token: str | None) -> LinkView:
    """Return what the page of link ``token`` shows about its subject and channel.

    Without ``token`` (the answer to a one-click POST, read by a mail
    provider's server) the page carries no nonce, so no broader button.
    """
    states = current_states(session, target.subject)

    def active(channel: Channel) -> bool:
        state = states.get(channel.id)
        return state is not None and state.status == Status.GRANTED

    shown = LinkView(target=target, active=active(target.channel),
                     commercial_active=[c for c in _commercial_channels(session) if active(c)])
    # Offered when it would stop more than the link's own button does.
    if token is not None and shown.commercial_active and (len(shown.commercial_active) > 1 or not shown.active):
        shown.stop_all_nonce = tokens.page_nonce("unsubscribe_all", token, [c.code for c in shown.commercial_active])
    return shown


def withdraw(session: Session, target: Target, *, method: str, trace: dict) -> Recorded:
    """Withdraw the link's channel where it is active: all a link alone may do."""
    return _withdraw(session, target, also=None, method=method, trace=trace)


def withdraw_all(session: Session, target: Target, token: str, nonce: str, *, trace: dict) -> Recorded:
    """Withdraw the link's channel and the commercial channels its page listed, given that page's nonce."""
    try:
        listed = tokens.read_page_nonce("unsubscribe_all", nonce, token)
    except TokenError:
        raise NonceError("invalid nonce") from None
    return _withdraw(session, target, also=listed, method="page", trace=trace)


def _withdraw(session: Session, target: Target, *, also: Collection[str] | None, method: str,
              trace: dict) -> Recorded:
    # A channel that is not active is left as it is (a restriction or a
    # refusal stays what it is), so a repeated POST records nothing.
    lock_subject(session, target.subject)
    channels = [c for c in _commercial_channels(session) if c.code in also] if also is not None else []
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
                  "scope": "channel" if also is None else "all_commercial"},
    )


def undo_nonce(token: str, recorded: Recorded) -> str | None:
    """Return the nonce that lets the page just shown undo what ``recorded`` withdrew (None if nothing)."""
    withdrawn = [e.public_id for e in recorded.events if e.status == Status.WITHDRAWN]
    return tokens.page_nonce("unsubscribe_undo", token, withdrawn) if withdrawn else None


def undoable(session: Session, target: Target, event_ids: Collection[str]) -> list[ConsentEvent]:
    """Return the events among ``event_ids`` an undo may still reverse (maybe none).

    Withdrawals of this subject by a page button of an unsubscribe link,
    on channels nothing has changed since: a replayed undo finds none.
    """
    if not event_ids:
        return []
    withdrawn = session.scalars(
        select(ConsentEvent)
        .where(ConsentEvent.public_id.in_(list(event_ids)), ConsentEvent.subject_id == target.subject.id,
               ConsentEvent.source == Source.UNSUBSCRIBE_LINK, ConsentEvent.status == Status.WITHDRAWN)
        .order_by(ConsentEvent.seq)).all()
    states = current_states(session, target.subject)
    return [e for e in withdrawn
            if (e.evidence or {}).get("method") == "page"
            and states.get(e.channel_id) is not None and states[e.channel_id].event_id == e.id]


def undo(session: Session, target: Target, token: str, nonce: str, *, trace: dict) -> Recorded:
    """Grant again, on the basis they had, the channels the nonce's withdrawal took away."""
    try:
        event_ids = tokens.read_page_nonce("unsubscribe_undo", nonce, token)
    except TokenError:
        raise NonceError("invalid nonce") from None
    lock_subject(session, target.subject)
    events = undoable(session, target, event_ids)
    return record_change(
        session, target.subject, {e.channel.code: Status.GRANTED for e in events},
        basis={e.channel.code: e.basis for e in events},
        source=Source.UNSUBSCRIBE_LINK, actor=Actor(ActorType.SUBJECT, target.subject.public_id),
        evidence={"link_channel": target.channel.code, "method": "page", "scope": "undo",
                  "undoes": [e.public_id for e in events]},
        trace=trace,
    )
