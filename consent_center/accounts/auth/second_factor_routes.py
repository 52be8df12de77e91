"""Second-factor step of the login, and enrolment from the staff page."""
from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from consent_center.accounts import second_factor
from consent_center.accounts.staff_log import log_staff_action
from consent_center.clock import utcnow
from consent_center.extensions import db, limiter
from consent_center.models import Account
from consent_center.accounts.auth import bp
from consent_center.accounts.auth.forms import CodeForm
from consent_center.accounts.auth.login_flow import finish_login

PENDING_SECONDS = 300


def _pending_key() -> str:
    pending = session.get("pending_second_factor") or {}
    return f"totp:{pending.get('account', 'none')}"


@bp.route("/login/second-factor", methods=["GET", "POST"])
@limiter.limit("5 per 5 minutes", key_func=_pending_key, methods=["POST"],
               deduct_when=lambda r: r.status_code != 302)
def second_factor_login():
    pending = session.get("pending_second_factor")
    if not pending or utcnow().timestamp() - pending["since"] > PENDING_SECONDS:
        session.pop("pending_second_factor", None)
        return redirect(url_for("auth.login"))
    account = db.session.get(Account, pending["account"])
    if account is None or not account.active:
        abort(400)
    form = CodeForm()
    if form.validate_on_submit():
        if second_factor.verify(account, form.code.data):
            session.pop("pending_second_factor", None)
            return finish_login(account, pending["next"])
        flash(_("This code is not valid. Try the code your app shows now."), "error")
        return render_template("accounts/second_factor.html", form=form), 401
    return render_template("accounts/second_factor.html", form=form)


@bp.route("/staff/second-factor", methods=["GET", "POST"])
@login_required
def second_factor_setup():
    if not current_user.is_staff:
        abort(403)
    form = CodeForm()
    if current_user.totp_secret:
        if form.validate_on_submit():
            if second_factor.verify(current_user, form.code.data):
                second_factor.disable(current_user)
                log_staff_action(db.session, current_user, "account.second_factor_disabled",
                                 f"account:{current_user.id}")
                flash(_("Two-step verification is off."), "info")
                return redirect(url_for("auth.staff_home"))
            flash(_("This code is not valid. Try the code your app shows now."), "error")
            return render_template("accounts/second_factor_setup.html", form=form, enrolled=True), 400
        return render_template("accounts/second_factor_setup.html", form=form, enrolled=True)
    secret = session.get("enrolling_secret") or second_factor.new_secret()
    session["enrolling_secret"] = secret
    if form.validate_on_submit():
        if second_factor.enroll(current_user, secret, form.code.data):
            session.pop("enrolling_secret", None)
            log_staff_action(db.session, current_user, "account.second_factor_enabled", f"account:{current_user.id}")
            flash(_("Two-step verification is on."), "success")
            return redirect(url_for("auth.staff_home"))
        flash(_("This code is not valid. Try the code your app shows now."), "error")
    uri = second_factor.provisioning_uri(current_user, secret)
    status = 400 if form.is_submitted() else 200
    return render_template("accounts/second_factor_setup.html", form=form, enrolled=False, secret=secret,
                           qr=second_factor.qr_code_data_uri(uri), issuer=current_app.config["COMPANY_NAME"]), status

