"""Accounts: creation and password checks (argon2)."""
from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from sqlalchemy import select
from zxcvbn import zxcvbn
from sqlalchemy.orm import Session

from consent_center.clock import utcnow
from consent_center.ledger import Actor
from consent_center.models import Account, Role, Subject
from consent_center.addresses import AddressError, normalise_email
from consent_center.subjects.service import create_subject
from consent_center.subjects.suppression import is_suppressed

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 256  # zxcvbn is quadratic in length; no one types more
MIN_PASSWORD_SCORE = 3  # of zxcvbn's 0-4: "safely unguessable" against online attacks


def _argon2() -> tuple[PasswordHasher, str]:
    """The app's hasher, built once from its ARGON2_* settings, and a dummy hash made with it.

    The dummy is verified against when the e-mail is unknown, so both failures cost the same.
    """
    built = current_app.extensions.get("consent_argon2")
    if built is None:
        config = current_app.config
        hasher = PasswordHasher(time_cost=config["ARGON2_TIME_COST"], memory_cost=config["ARGON2_MEMORY_COST"],
                                parallelism=config["ARGON2_PARALLELISM"])
        built = current_app.extensions["consent_argon2"] = (hasher, hasher.hash("not a password of anyone"))
    return built


class AccountError(ValueError):
    """An account cannot be created or changed as asked."""


def check_password_policy(password: str, *, email: str | None = None) -> None:
    """Refuse short, common or guessable passwords (zxcvbn's lists and score)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"a password has at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise AccountError(f"a password has at most {MAX_PASSWORD_LENGTH} characters")
    hints = [email, *email.split("@")] if email else []
    if zxcvbn(password, user_inputs=hints)["score"] < MIN_PASSWORD_SCORE:
        raise AccountError("this password is too common or too easy to guess")


def hash_password(password: str, *, email: str | None = None) -> str:
    check_password_policy(password, email=email)
    return _argon2()[0].hash(password)


def create_account(
    session: Session, *, email: str, password: str | None, role: Role, actor: Actor,
    name: str | None = None, locale: str = "fr",
) -> Account:
    """Create an account; a customer account gets its subject (or the existing one)."""
    try:
        email = normalise_email(email)
    except AddressError as exc:
        raise AccountError(str(exc)) from exc
    if session.scalars(select(Account.id).where(Account.email == email)).first():
        raise AccountError("an account with this e-mail address already exists")
    account = Account(
        email=email, role=role, locale=locale,
        password_hash=hash_password(password, email=email) if password else None,
        password_changed_at=utcnow() if password else None,
    )
    if role == Role.CUSTOMER:
        subject = session.scalars(select(Subject).where(Subject.email == email)).first()
        if subject is None:
            if is_suppressed(session, email):  # erased on request: no login brings the person back as a contact
                raise AccountError("this e-mail address was erased at its owner's request (suppression list); "
                                   "it cannot be added again")
            subject = create_subject(
                session, actor=actor, email=email, name=name, locale=locale, is_customer=True
            )
        elif not subject.is_customer:
            subject.is_customer = True
        account.subject = subject
    session.add(account)
    session.flush()
    return account


def authenticate(session: Session, email: str, password: str) -> Account | None:
    """Return the active account these credentials open, else None."""
    try:
        email = normalise_email(email)
    except AddressError:
        email = ""
    account = session.scalars(select(Account).where(Account.email == email)).first() if email else None
    hasher, dummy = _argon2()
    stored = account.password_hash if account and account.password_hash else dummy
    try:
        hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return None
    if account is None or not account.active or not account.password_hash:
        return None
    if hasher.check_needs_rehash(account.password_hash):
        account.password_hash = hasher.hash(password)
    account.last_login_at = utcnow()
    return account


def end_sessions(account: Account) -> None:
    """End every session of the account, on every device: each request compares
    the version its session was opened under with the account's (auth.load_account).

    A session that should live on (the one that just set a new password) takes
    the new version afterwards (auth.login_flow.keep_this_session).
    """
    account.session_version = (account.session_version or 0) + 1


def change_role(session: Session, account: Account, role: Role) -> bool:
    """Give a staff account another staff role; its sessions end. True if it changed.

    A customer account stays a customer (it is a subject's login) and a staff
    account does not become one: that is a new account.
    """
    if Role.CUSTOMER in (account.role, role):
        raise AccountError("a customer account cannot change role, nor a staff account become a customer's")
    if account.role == role:
        return False
    account.role = role
    end_sessions(account)
    session.flush()
    return True
