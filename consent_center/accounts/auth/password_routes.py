"""Choosing a password: from an invitation, or after forgetting it.

Both links are GET-safe (the page shows a form; only its POST changes the
password) and die once used or when the password changes by any way.
"""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from consent_center.accounts import passwords
from consent_center.accounts.service import AccountError
from consent_center.extensions import db, limiter
from consent_center.web.errors import link_invalid
from consent_center.web.rate_limits import address_key, address_limit, public_limit
from consent_center.tokens import TokenError
from consent_center.web.boundary import protect_token_pages
from consent_center.accounts.auth import bp
from consent_center.accounts.auth.forms import ForgotPasswordForm, SetPasswordForm
from consent_center.accounts.auth.login_flow import keep_this_session

bp.after_request(protect_token_pages)


@bp.route("/password/forgot", methods=["GET", "POST"])
@limiter.limit(public_limit, methods=["POST"])
@limiter.limit(address_limit, key_func=address_key, methods=["POST"])
def forgot_password():
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        passwords.request_reset(db.session, form.email.data)
        # Known or not, the same redirect: nothing tells who has an account.
        return redirect(url_for("auth.forgot_password_sent"))
    status = 400 if request.method == "POST" else 200
    return render_template("accounts/forgot_password.html", form=form), status


@bp.get("/password/forgot/sent")
def forgot_password_sent():
    return render_template("unsubscribe/sent.html", what="password")


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str):
    return _choose_password("password_reset", token)


@bp.route("/invitation/<token>", methods=["GET", "POST"])
def accept_invitation(token: str):
    return _choose_password("invitation", token)


def _choose_password(purpose: str, token: str):
    try:
        account = passwords.account_for(db.session, purpose, token)
    except TokenError:
        return link_invalid(url_for("auth.forgot_password"), _("Ask for a new link"))
    form = SetPasswordForm()
    if form.validate_on_submit():
        try:
            passwords.use_link(db.session, purpose, token, form.password.data)
        except TokenError:  # used meanwhile, by a concurrent post of the same link
            return link_invalid(url_for("auth.forgot_password"), _("Ask for a new link"))
        except AccountError:
            form.password.errors = [*form.password.errors, _(
                "This password is too common or too easy to guess. A sentence of several words works well.")]
        else:
            if current_user.is_authenticated and current_user.id == account.id:
                # The account's other sessions end; the one choosing the password goes on.
                keep_this_session(account)
                flash(_("Your password is set."), "success")
                return redirect(url_for("auth.index"))
            flash(_("Your password is set. You can now log in."), "success")
            return redirect(url_for("auth.login"))
    status = 400 if request.method == "POST" else 200
    return render_template("accounts/set_password.html", form=form, purpose=purpose, email=account.email), status
