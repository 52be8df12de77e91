"""Newsletter sign-up by double opt-in.

A sign-up records nothing in the ledger and creates no subject: anyone can
type anyone's address. It keeps a pending NewsletterSignup and queues one
confirmation e-mail. Only the confirmation — a POST from the link in that
e-mail — creates the subject if needed (a prospect) and records the grant,
with both moments and both minimised traces as evidence.
"""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, select, text
from sqlalchemy.orm import Session

from consent_center import tokens
from consent_center.clock import utcnow
from consent_center.ledger import Actor, Recorded, record_change
from consent_center.outbox.mail import enqueue_email
from consent_center.models import Channel, NewsletterSignup, PolicyVersion, Subject
from consent_center.models.vocabulary import ActorType, Source, Status
from consent_center.policies.service import policy_in_force
from consent_center.subjects.suppression import is_suppressed
from consent_center.addresses import AddressError, normalise_email
from consent_center.subjects.service import create_subject
from consent_center.tokens import TokenError

NEWSLETTER = "newsletter"
# At most one pending confirmation e-mail per address in this time.
CONFIRMATION_INTERVAL = timedelta(hours=1)


class SignupError(ValueError):
    """A sign-up or confirmation that cannot go on; nothing was written."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def open_policy(session: Session) -> PolicyVersion | None:
    """Return the policy version a sign-up accepts, or None when sign-up is closed.

    Closed without a policy in force (consent must be informed) or without
    an active newsletter channel.
    """
    channel = session.scalars(select(Channel).where(Channel.code == NEWSLETTER, Channel.active.is_(True))).first()
    return policy_in_force(session) if channel is not None else None


def sign_up(
    session: Session, *, email: str, name: str | None, locale: str, policy_label: str, trace: dict,
) -> NewsletterSignup | None:
    """Keep a pending sign-up and queue its confirmation e-mail.

    Returns None, writing nothing, when the address already has a pending
    confirmation sent less than CONFIRMATION_INTERVAL ago: repeated sign-ups
    do not flood an inbox. The caller answers the same in both cases.
    """
    try:
        email = normalise_email(email)
    except AddressError:
        raise SignupError("email") from None
    policy = open_policy(session)
    if policy is None:
        raise SignupError("closed")
    if policy.label != policy_label:
        raise SignupError("policy_changed")
    _serialise_address(session, email)
    if is_suppressed(session, email):
        # Erased on request: no confirmation e-mail, nothing kept; the page
        # answers as for any sign-up, so it tells no one the address was erased.
        return None
    now = utcnow()
    _forget_expired(session, now)
    pending = session.scalars(select(NewsletterSignup.id).where(
        NewsletterSignup.email == email, NewsletterSignup.confirmed_at.is_(None),
        NewsletterSignup.requested_at > now - CONFIRMATION_INTERVAL,
    )).first()
    if pending is not None:
        return None
    signup = NewsletterSignup(email=email, name=(name or "").strip() or None, locale=locale,
                              policy_version_id=policy.id, requested_at=now, trace=trace)
    session.add(signup)
    session.flush()
    # No name: the address is not confirmed, and what a stranger typed must not travel in our mail.
    enqueue_email(session, topic="double_opt_in", to=email, locale=locale, signup=signup.public_id)
    return signup


def signup_for(session: Session, token: str) -> NewsletterSignup:
    """Return the sign-up a valid confirmation token names, else raise SignupError."""
    try:
        payload = tokens.load("double_opt_in", token)
    except TokenError as exc:
        raise SignupError(exc.reason) from None
    public_id = payload.get("p") if isinstance(payload, dict) else None
    signup = session.scalars(select(NewsletterSignup).where(NewsletterSignup.public_id == public_id)).first() \
        if isinstance(public_id, str) else None
    if signup is None:
        raise SignupError("invalid")
    return signup


def confirm(session: Session, signup: NewsletterSignup, *, trace: dict) -> Recorded | None:
    """Record the newsletter grant of a pending sign-up; None if it was confirmed before.

    A confirmation link works once: clicked again after an unsubscribe, it
    must not subscribe anyone again.
    """
    _serialise_address(session, signup.email)
    session.refresh(signup)
    if signup.confirmed_at is not None:
        return None
    now = utcnow()
    subject = session.scalars(select(Subject).where(Subject.email == signup.email)).first()
    if subject is None:
        subject = create_subject(session, actor=Actor.system(), email=signup.email, name=signup.name,
                                 locale=signup.locale, is_customer=False, trace=trace)
    recorded = record_change(
        session, subject, {NEWSLETTER: Status.GRANTED}, source=Source.DOUBLE_OPT_IN,
        actor=Actor(ActorType.SUBJECT, subject.public_id), trace=trace,
        evidence={
            "signup": signup.public_id,
            "policy_version_accepted": signup.policy_version.label,
            "signed_up_at": signup.requested_at.isoformat(),
            "sign_up_trace": signup.trace,
            "confirmed_at": now.isoformat(),
            "confirmation_trace": trace,
        },
    )
    signup.confirmed_at = now
    signup.subject_id = subject.id
    # Other pending sign-ups of the address are answered by this one.
    session.execute(delete(NewsletterSignup).where(
        NewsletterSignup.email == signup.email, NewsletterSignup.confirmed_at.is_(None),
        NewsletterSignup.id != signup.id))
    session.flush()
    return recorded


def _forget_expired(session: Session, now) -> None:
    """Delete sign-ups never confirmed whose link has expired: nobody asked for anything."""
    session.execute(delete(NewsletterSignup).where(
        NewsletterSignup.confirmed_at.is_(None),
        NewsletterSignup.requested_at < now - tokens.max_age("double_opt_in")))


def _serialise_address(session: Session, email: str) -> None:
    """Serialise sign-ups and confirmations of one address.

    On PostgreSQL a transaction-scoped advisory lock; SQLite writers are
    serialised already (BEGIN IMMEDIATE).
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
                        {"key": f"newsletter:{email}"})


def signups_of(session: Session, subject_id: int, addresses: set[str]) -> list[NewsletterSignup]:
    """The sign-ups a subject confirmed, and every sign-up (pending or not) of ``addresses``."""
    return list(session.scalars(select(NewsletterSignup).where(
        (NewsletterSignup.subject_id == subject_id) | NewsletterSignup.email.in_(sorted(addresses)))))


def forget_signups(session: Session, signups: list[NewsletterSignup]) -> None:
    """Delete ``signups`` (erasure): the confirmation's evidence in the ledger names them by public id only."""
    if signups:
        session.execute(delete(NewsletterSignup).where(NewsletterSignup.id.in_([s.id for s in signups])))
        session.flush()
