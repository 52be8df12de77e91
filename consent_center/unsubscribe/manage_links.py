"""Preferences by e-mailed link, for people without an account or password.

"I deleted all your e-mails": a person types an address and, if a subject
has it, receives a link to their preferences. The answer is the same for
a known and an unknown address, and nothing is sent inline: the known
address gets an outbox row, written in the request's transaction.
"""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from consent_center import tokens
from consent_center.outbox.mail import enqueue_email
from consent_center.models import Subject
from consent_center.subjects.service import find_by_email
from consent_center.tokens import TokenError


class ManageLinkError(ValueError):
    """A manage link that is forged, expired, or no longer names its subject."""


def request_link(session: Session, email: str) -> None:
    """Queue a manage link to ``email`` if a subject has that address; else do nothing."""
    subject = find_by_email(session, email)
    if subject is None or subject.email is None:
        return
    enqueue_email(session, topic="manage_link", to=subject.email, locale=subject.locale,
                  name=subject.name, subject=subject.public_id, email=subject.email)


def subject_for(session: Session, token: str) -> Subject:
    """Return the subject a valid manage link names, if the address it was sent to is still theirs.

    A link of the old format (the address in clear) is refused: it lived
    two days, and its page offers a new link at once.
    """
    try:
        public_id, digest = tokens.read_subject_token("manage_link", token)
        subject = session.scalars(select(Subject).where(Subject.public_id == public_id)).first()
        if subject is None:
            raise ManageLinkError("invalid")
        tokens.check_subject_address("manage_link", public_id, digest, subject.email)
    except TokenError:
        raise ManageLinkError("invalid") from None
    return subject
