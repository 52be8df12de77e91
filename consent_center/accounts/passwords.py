"""Passwords set by the account holder: invitations and forgotten passwords.

Accounts are created by the company ("an identifier and password sent to
you"): the invitation e-mail carries a link to choose the password. Both
links die once used, since their token carries a fingerprint of the
password they replace (``tokens.account_fingerprint``). Using one is
atomic (``use_link``): the account's row is locked before the fingerprint
is checked, so of concurrent uses of one link exactly one sets a password.
"""
from __future__ import annotations

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from consent_center import tokens
from consent_center.accounts.service import end_sessions, hash_password
from consent_center.clock import utcnow
from consent_center.outbox.mail import enqueue_email
from consent_center.models import Account, OutboxMessage
from consent_center.addresses import AddressError, normalise_email


def _locale(account: Account) -> str:
    supported = current_app.config["SUPPORTED_LOCALES"]
    for locale in (account.locale, account.subject.locale if account.subject else None):
        if locale in supported:
            return locale
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def _name(account: Account) -> str | None:
    return account.subject.name if account.subject else None


def invite(session: Session, account: Account) -> OutboxMessage:
    """Queue the invitation e-mail of an account created without a password."""
    return enqueue_email(session, topic="invitation", to=account.email, locale=_locale(account),
                         name=_name(account), account=account.id)


def request_reset(session: Session, email: str) -> None:
    """Queue a reset e-mail if an active account has ``email``; else do nothing."""
    try:
        email = normalise_email(email)
    except AddressError:
        return
    account = session.scalars(select(Account).where(Account.email == email)).first()
    if account is None or not account.active:
        return
    enqueue_email(session, topic="password_reset", to=account.email, locale=_locale(account),
                  name=_name(account), account=account.id)


def account_for(session: Session, purpose: str, token: str, *, lock: bool = False) -> Account:
    """Return the account a valid, unused invitation or reset token names; else raise TokenError.

    With ``lock``, the account's row stays locked until the transaction
    ends (PostgreSQL: SELECT ... FOR UPDATE; SQLite's writers already hold
    the database's lock from BEGIN IMMEDIATE), and is read afresh once the
    lock is had: a concurrent use of the same link waits, then finds the
    password changed and its token used.
    """
    account_id, fingerprint = tokens.read_account_token(purpose, token)
    query = select(Account).where(Account.id == account_id)
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    account = session.scalars(query).first()
    tokens.check_account_token(account, fingerprint)
    return account


def use_link(session: Session, purpose: str, token: str, password: str) -> Account:
    """Set the password through an invitation or reset link, which is used up, atomically.

    Raises TokenError for a link invalid or used (also by a concurrent
    request that won), AccountError for a password the policy refuses.
    """
    account = account_for(session, purpose, token, lock=True)
    set_password(session, account, password)
    return account


def set_password(session: Session, account: Account, password: str) -> None:
    """Set the account's password; every invitation or reset token issued before dies,
    and every session of the account ends.

    Raises AccountError for a password the policy refuses (nothing changes).
    """
    account.password_hash = hash_password(password, email=account.email)
    account.password_changed_at = utcnow()
    end_sessions(account)
    session.flush()
