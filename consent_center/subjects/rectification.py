"""Rectification from the personal space (GDPR art. 16).

Name, phone (E.164), postal address and language change at once. A new
e-mail address changes nothing until its owner opens the link sent to it;
the current address is told of the request. The link carries the current
address too, so it dies once used (or once the address changed otherwise);
confirming locks the subject's row first, so it is used once under concurrency.

An address or number on the suppression list (erased at its owner's
request) is never taken: a phone number is refused (``SuppressedValue``);
a new e-mail address is treated as a taken one, no link goes to it and the
page says the same either way; a link to an address listed since it was
sent is dead, as a used one.
"""
from __future__ import annotations

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from consent_center import tokens
from consent_center.outbox.mail import enqueue_email
from consent_center.models import Account, Subject
from consent_center.subjects.suppression import suppressed_field
from consent_center.addresses import LOCALES, AddressError, normalise_email, normalise_phone, phone_region


class RectificationError(ValueError):
    """A field that cannot be taken as typed; nothing was written."""

    def __init__(self, field: str) -> None:
        super().__init__(field)
        self.field = field


class SuppressedValue(RectificationError):
    """A phone number on the suppression list: it cannot be used; nothing was written."""


def rectify(session: Session, subject: Subject, account: Account | None, *, name: str | None, phone: str | None,
            postal_address: str | None, locale: str, email: str | None) -> bool:
    """Apply the profile form; return True when an e-mail change awaits confirmation."""
    if locale not in LOCALES:
        raise RectificationError("locale")
    phone = (phone or "").strip()
    if phone:
        try:
            phone = normalise_phone(phone, phone_region(locale, current_app.config["JURISDICTION"]))
        except AddressError:
            raise RectificationError("phone") from None
        if suppressed_field(session, {"phone": phone}, subject):
            raise SuppressedValue("phone")
    new_email = None
    if email and email.strip():
        try:
            new_email = normalise_email(email)
        except AddressError:
            raise RectificationError("email") from None
        if new_email == subject.email:
            new_email = None
    subject.name = (name or "").strip() or None
    subject.phone = phone or None
    subject.postal_address = (postal_address or "").strip() or None
    subject.locale = locale
    if account is not None:
        account.locale = locale
    if new_email:
        taken = session.scalars(select(Subject.id).where(Subject.email == new_email)).first() or \
            session.scalars(select(Account.id).where(Account.email == new_email)).first() or \
            suppressed_field(session, {"email": new_email})
        if not taken:  # a taken or erased address gets no link; the page says the same either way
            # No name: the new address is not confirmed yet (the mail greets generically).
            enqueue_email(session, topic="email_change", to=new_email, locale=locale,
                          subject=subject.public_id, new=new_email, old=subject.email)
        if subject.email:
            enqueue_email(session, topic="email_change_notice", to=subject.email, locale=locale,
                          name=subject.name, subject=subject.public_id)
    session.flush()
    return bool(new_email)


def pending_change(session: Session, token: str, *, lock: bool = False) -> tuple[Subject, str]:
    """Return (subject, new address) a valid, unused change link names; else TokenError.

    With ``lock``, the subject's row stays locked until the transaction
    ends and is read afresh once locked (PostgreSQL: SELECT ... FOR UPDATE;
    SQLite's writers hold the database's lock from BEGIN IMMEDIATE): a
    concurrent confirmation waits, then finds the address changed.
    """
    payload = tokens.load("email_change", token)
    if not isinstance(payload, dict) or not isinstance(payload.get("s"), str) \
            or not isinstance(payload.get("e"), str):
        raise tokens.TokenError("invalid")
    query = select(Subject).where(Subject.public_id == payload["s"])
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    subject = session.scalars(query).first()
    if subject is None or subject.erased_at is not None or subject.email != payload.get("o") \
            or suppressed_field(session, {"email": payload["e"]}):
        raise tokens.TokenError("used")
    return subject, payload["e"]


def confirm_change(session: Session, token: str) -> Subject:
    """Move the subject (and its account) to the confirmed address, once: the link is used up atomically.

    Of concurrent confirmations of one link, one moves the address; the
    others get TokenError("used"), as for a link used before.
    """
    subject, new_email = pending_change(session, token, lock=True)
    if session.scalars(select(Subject.id).where(Subject.email == new_email)).first() or \
            session.scalars(select(Account.id).where(Account.email == new_email)).first():
        raise tokens.TokenError("used")
    account = session.scalars(select(Account).where(Account.subject_id == subject.id)).first()
    subject.email = new_email
    if account is not None:
        account.email = new_email
    session.flush()
    return subject
