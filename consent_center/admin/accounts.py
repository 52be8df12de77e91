"""Accounts from the back office (admins): create with an invitation, disable."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from consent_center.accounts.service import AccountError, create_account, end_sessions
from consent_center.accounts.auth.forms import LogoutForm
from consent_center.extensions import db
from consent_center.ledger import Actor
from consent_center.models import Account, ActorType, Role
from consent_center.accounts.passwords import invite
from consent_center.accounts.staff_log import log_staff_action
from consent_center.admin import admin_only, bp
from consent_center.admin.forms import AccountForm

ACCOUNTS_PAGE = 100


def _render(form: AccountForm, status: int = 200):
    query = request.args.get("q", "").strip()[:320]
    stmt = select(Account).order_by(Account.role != Role.ADMIN, Account.role, Account.email)
    if query:
        stmt = stmt.where(Account.email.contains(query.lower(), autoescape=True))
    else:
        # Without a search, staff only: customers are many, and found by search.
        stmt = stmt.where(Account.role != Role.CUSTOMER)
    accounts = db.session.scalars(stmt.limit(ACCOUNTS_PAGE)).all()
    return render_template("admin/accounts.html", form=form, accounts=accounts, query=query,
                           action_form=LogoutForm()), status


@bp.get("/accounts")
@admin_only
def accounts():
    return _render(AccountForm())


@bp.post("/accounts")
@admin_only
def create_account_view():
    form = AccountForm()
    if not form.validate_on_submit():
        return _render(form, 400)
    try:
        account = create_account(db.session, email=form.email.data, password=None, role=Role(form.role.data),
                                 actor=Actor(ActorType.ACCOUNT, str(current_user.id)),
                                 name=form.name.data.strip() or None, locale=form.locale.data)
    except AccountError:
        form.email.errors = [_("An account with this e-mail address already exists, or the address is not valid.")]
        return _render(form, 400)
    invite(db.session, account)
    log_staff_action(db.session, current_user, "account.created", f"account:{account.id}",
                     email=account.email, role=account.role)
    flash(_("The account %(email)s is created; an invitation to choose a password is on its way.",
            email=account.email), "success")
    return redirect(url_for("admin.accounts"))


@bp.post("/accounts/<int(max=2147483647):account_id>/disable")
@admin_only
def disable_account(account_id: int):
    form = LogoutForm()  # the CSRF token only
    account = db.session.get(Account, account_id)
    if account is None:
        abort(404)
    if not form.validate_on_submit():
        return render_template("web/error.html", code=400, reason="csrf"), 400
    if account.id == current_user.id:
        flash(_("You cannot disable your own account."), "error")
        return redirect(url_for("admin.accounts"))
    if account.active:
        account.active = False
        end_sessions(account)  # a session opened before does not outlive it
        log_staff_action(db.session, current_user, "account.disabled", f"account:{account.id}",
                         email=account.email, role=account.role)
    flash(_("The account %(email)s is disabled: it can no longer log in.", email=account.email), "success")
    return redirect(url_for("admin.accounts"))
