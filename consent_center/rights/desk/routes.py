from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from consent_center.rights import desk_actions, lifting, requests as data_requests
from consent_center.accounts.auth.decorators import roles_required
from consent_center.clock import utcnow
from consent_center.extensions import db
from consent_center.web.forms import kept_form_values
from consent_center.rights.desk import bp

STAFF = ("support", "admin")

IDENTITY_NOT_CHECKED = _l("The requester's identity is not checked yet: record how it was checked, and the "
                          "evidence, before carrying out this request. Nothing was done.")
IDENTITY_EVIDENCE_ERRORS = {
    "method": _l("Choose how the identity was checked."),
    "evidence": _l("Write the evidence of the identity check: what was done, and where it is recorded."),
    "reference": _l("The reference is one line of at most 200 characters."),
}


def _found(public_id: str, *, lock: bool = False):
    found = data_requests.find_request(db.session, public_id, lock=lock)
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
                           restricted=lifting.liftable(db.session, found.subject),
                           lift_in_force=lifting.in_force(db.session, found),
                           max_days=data_requests.longest_extension(),
                           identity_checked=data_requests.identity_checked(found),
                           identity_methods=data_requests.IDENTITY_METHODS,
                           lift_date=lifting.lift_moment(utcnow()),
                           lift_due=lifting.is_due(found),
                           told_by_email=lifting.told_by_email(db.session, found))


@bp.post("/<public_id>/<action>")
@roles_required(*STAFF)
def act(public_id: str, action: str):
    # Locked: the same action posted twice at once (two staff, a double-click) is taken once.
    found = _found(public_id, lock=True)
    kept, spoiled = kept_form_values()
    if spoiled:
        return _render_detail(found, kept=kept), 400
    try:
        if action == "verify":
            desk_actions.check_identity(db.session, found, current_user, method=request.form.get("method", ""),
                                        evidence=request.form.get("evidence", ""),
                                        reference=request.form.get("reference", ""))
        elif action == "extend":
            desk_actions.extend(db.session, found, current_user, days=request.form.get("days", 0, type=int),
                                reason=request.form.get("reason", ""))
        elif action == "carry-out":
            desk_actions.carry_out(db.session, found, current_user)
        elif action == "announce-lift":
            desk_actions.announce_lift(db.session, found, current_user)
        elif action == "lift":
            desk_actions.lift(db.session, found, current_user, told=request.form.get("told", ""))
        elif action == "reject":
            desk_actions.decline(db.session, found, current_user)
        else:
            abort(404)
    except desk_actions.IdentityNotChecked:
        return _render_detail(found, error=str(IDENTITY_NOT_CHECKED), kept=kept), 409
    except data_requests.IdentityEvidenceError as exc:
        return _render_detail(found, error=str(IDENTITY_EVIDENCE_ERRORS[str(exc)]), kept=kept), 400
    except data_requests.RequestError as exc:
        # A 409 rolls back: nothing of a refused action is written.
        return _render_detail(found, error=str(exc), kept=kept), 409
    flash(_("Done."), "success")
    return redirect(url_for("requests_desk.detail", public_id=public_id))
