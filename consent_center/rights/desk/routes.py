from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from consent_center.rights import requests as data_requests, effects as subject_rights
from consent_center.accounts.auth.decorators import roles_required
from consent_center.extensions import db
from consent_center.web.forms import kept_form_values
from consent_center.rights.desk import bp

STAFF = ("support", "admin")


def _found(public_id: str):
    found = data_requests.find_request(db.session, public_id)
    if found is None:
        abort(404)
    return found


@bp.get("/")
@roles_required(*STAFF)
def queue():
    closed = request.args.get("closed") == "1"
    return render_template("rights/queue.html", lines=data_requests.queue(db.session, include_closed=closed),
                           closed=closed)


@bp.get("/<public_id>")
@roles_required(*STAFF)
def detail(public_id: str):
    return _render_detail(_found(public_id))


def _render_detail(found, error: str | None = None, kept: dict | None = None):
    return render_template("rights/detail.html", request_=found, error=error, kept=kept or {},
                           overdue=data_requests.is_overdue(found),
                           restricted=subject_rights.is_restricted(db.session, found.subject),
                           max_days=data_requests.MAX_EXTENSION_DAYS)


@bp.post("/<public_id>/<action>")
@roles_required(*STAFF)
def act(public_id: str, action: str):
    found = _found(public_id)
    kept, spoiled = kept_form_values()
    if spoiled:
        return _render_detail(found, kept=kept), 400
    try:
        if action == "verify":
            data_requests.verify_identity(db.session, found, account_id=current_user.id)
        elif action == "extend":
            data_requests.extend(db.session, found, days=request.form.get("days", 0, type=int),
                                 reason=request.form.get("reason", ""), account_id=current_user.id)
        elif action == "carry-out":
            subject_rights.carry_out(db.session, found, account_id=current_user.id)
        elif action == "lift":
            subject_rights.lift(db.session, found, account_id=current_user.id)
        elif action == "reject":
            if not data_requests.is_open(found):
                raise data_requests.RequestError("this request is closed")
            data_requests.close(db.session, found, status="rejected", outcome="rejected",
                                account_id=current_user.id)
        else:
            abort(404)
    except data_requests.RequestError as exc:
        # A 409 rolls back: nothing of a refused action is written.
        return _render_detail(found, error=str(exc), kept=kept), 409
    flash(_("Done."), "success")
    return redirect(url_for("requests_desk.detail", public_id=public_id))
