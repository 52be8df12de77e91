"""Passwords set by the account holder: invitations and forgotten passwords.

Accounts are created by the company ("an identifier and password sent to
you"): the invitation e-mail carries a link to choose the password. Both
links die once used, since their token carries a fingerprint of the
password they replace (``tokens.account_fingerprint``).
"""
from __future__ import annotations

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from consent_center import tokens
from consent_center.accounts.service import hash_password
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


def account_for(session: Session, purpose: str, token: str) -> Account:
    """Return the account a valid, unused invitation or reset token names; else raise TokenError."""
    account_id, fingerprint = tokens.read_account_token(purpose, token)
    account = session.get(Account, account_id)
    tokens.check_account_token(account, fingerprint)
    return account


def set_password(session: Session, account: Account, password: str) -> None:
    """Set the account's password; every invitation or reset token issued before dies.

    Raises AccountError for a password the policy refuses (nothing changes).
    """
    account.password_hash = hash_password(password, email=account.email)
    account.password_changed_at = utcnow()
    session.flush()
