from __future__ import annotations

from flask import abort, current_app, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, logout_user

from consent_center.accounts.service import authenticate, end_sessions
from consent_center.extensions import db, limiter, login_manager
from consent_center.models import Account
from consent_center.web.boundary import is_safe_redirect
from consent_center.web.rate_limits import typed_address_key
from consent_center.accounts.auth import bp
from consent_center.accounts.auth.forms import LoginForm, LogoutForm
from consent_center.accounts.auth.login_flow import finish_login, landing, session_is_current, start_second_factor


@login_manager.user_loader
def load_account(account_id: str) -> Account | None:
    if not account_id.isdigit() or g.get("database_down"):
        # While the database is down, the outage page is shown as to a visitor (the session is kept).
        return None
    # The one query a logged-in request makes for its account also holds the
    # session version: a session opened before the last bump is over.
    account = db.session.get(Account, int(account_id))
    if account is None or not account.active or not session_is_current(account):
        session.clear()
        return None
    return account


login_manager.login_view = "auth.login"
login_manager.login_message = None


def _login_key() -> str:
    """Throttle failures per account, whoever tries them and however they spell its address."""
    return "login:" + typed_address_key()


def _login_throttle() -> str:
    return current_app.config["LOGIN_THROTTLE"]


def _failed(response) -> bool:
    return response.status_code != 302


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_throttle, key_func=_login_key, methods=["POST"], deduct_when=_failed)
@limiter.limit("30 per minute", methods=["POST"])
def login():
    if current_user.is_authenticated:
        return redirect(landing(current_user))
    form = LoginForm(next=request.args.get("next", ""))
    if form.validate_on_submit():
        account = authenticate(db.session, form.email.data, form.password.data)
        if account is not None:
            if account.totp_secret:
                return start_second_factor(account, form.next.data)
            return finish_login(account, form.next.data)
        flash(_("Unknown e-mail address or wrong password."), "error")
        return render_template("accounts/login.html", form=form), 401
    status = 400 if request.method == "POST" else 200
    return render_template("accounts/login.html", form=form), status


@bp.post("/logout")
@login_required
def logout():
    return _end_every_session(_("You are logged out."))


@bp.post("/logout/everywhere")
@login_required
def logout_everywhere():
    return _end_every_session(_("You are logged out on every device."))


def _end_every_session(said: str):
    # Logging out ends the account's every session, a cookie copied before included:
    # "everywhere" only says so.
    form = LogoutForm()
    if not form.validate_on_submit():
        return render_template("web/error.html", code=400, reason="csrf"), 400
    end_sessions(current_user)
    logout_user()
    session.clear()
    flash(said, "info")
    return redirect(url_for("auth.login"))


@bp.get("/")
def index():
    if current_user.is_authenticated:
        return redirect(landing(current_user))
    return redirect(url_for("auth.login"))


@bp.get("/staff")
@login_required
def staff_home():
    if not current_user.is_staff:
        abort(403)  # a staff page: a customer's place is their space
    return render_template("accounts/staff_home.html")


@bp.post("/language")
def set_language():
    """Switch the interface language (and the account's, when logged in)."""
    form = LogoutForm()  # CSRF token only
    locale = request.form.get("locale", "")
    if not form.validate_on_submit() or locale not in current_app.config["SUPPORTED_LOCALES"]:
        abort(400)
    session["locale"] = locale
    if current_user.is_authenticated:
        current_user.locale = locale
        if current_user.subject is not None:
            current_user.subject.locale = locale
    target = request.form.get("next", "")
    return redirect(target if is_safe_redirect(target) else url_for("auth.index"))
