"""The end of a login: a fresh session, or the second-factor step first."""
from __future__ import annotations

from flask import redirect, session, url_for
from flask_login import login_user

from consent_center.clock import utcnow
from consent_center.models import Account
from consent_center.web.boundary import is_safe_redirect


def landing(account: Account) -> str:
    return url_for("auth.staff_home") if account.is_staff else url_for("space.preferences")


def finish_login(account: Account, target: str | None):
    """Log in with a fresh session (no fixation) and go to a local target."""
    session.clear()
    login_user(account)
    session["started_at"] = session["last_seen_at"] = int(utcnow().timestamp())
    return redirect(target if is_safe_redirect(target) else landing(account))


def start_second_factor(account: Account, target: str | None):
    """After the right password: remember who is halfway in, and ask for the code."""
    session.clear()
    session["pending_second_factor"] = {
        "account": account.id, "next": target or "", "since": int(utcnow().timestamp()),
    }
    return redirect(url_for("auth.second_factor_login"))
