"""The end of a login: a fresh session, or the second-factor step first."""
from __future__ import annotations

from flask import redirect, session, url_for
from flask_login import login_user

from consent_center.clock import utcnow
from consent_center.models import Account
from consent_center.web.boundary import is_safe_redirect

# The account's session version this session was opened under (Account.session_version).
SESSION_VERSION_KEY = "session_version"


def landing(account: Account) -> str:
    return url_for("auth.staff_home") if account.is_staff else url_for("space.preferences")


def finish_login(account: Account, target: str | None):
    """Log in with a fresh session (no fixation) and go to a local target."""
    session.clear()
    login_user(account)
    keep_this_session(account)
    session["started_at"] = session["last_seen_at"] = int(utcnow().timestamp())
    return redirect(target if is_safe_redirect(target) else landing(account))


def start_second_factor(account: Account, target: str | None):
    """After the right password: remember who is halfway in, and ask for the code."""
    session.clear()
    session["pending_second_factor"] = {
        "account": account.id, "next": target or "", "since": int(utcnow().timestamp()),
    }
    return redirect(url_for("auth.second_factor_login"))


def keep_this_session(account: Account) -> None:
    """This session carries the account's current session version: it survives a bump
    made by its own request (a new password) and dies at the next one (load_account)."""
    session[SESSION_VERSION_KEY] = account.session_version or 0


def session_is_current(account: Account) -> bool:
    """Whether this session was opened under the account's current session version."""
    return session.get(SESSION_VERSION_KEY) == (account.session_version or 0)
