"""Support's pages: find a person, see their choices and history, record a change for them."""
from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import SelectChoice

from consent_center.ledger import RestrictedChannel
from consent_center.ledger.history import find_subject, find_subjects, full_history
from consent_center.extensions import db
from consent_center.subjects.preferences import preferences_of
from consent_center.accounts.staff_changes import Proof, StaffChangeError, record_on_behalf
from consent_center.web.trace import request_trace
from consent_center.admin import bp
from consent_center.admin.forms import OnBehalfForm

PROOF_ERRORS = {
    "empty_proof": _l("The proof file is empty."),
    "proof_too_large": _l("The proof file is too large."),
}


@bp.get("/people")
def people():
    query = request.args.get("q", "").strip()[:320]
    subjects = find_subjects(db.session, query) if query else []
    return render_template("find_person.html", query=query, subjects=subjects,
                           search_endpoint="admin.people", person_endpoint="admin.person")


def _person_or_404(public_id: str):
    person = find_subject(db.session, public_id)
    if person is None:
        abort(404)
    return person


def _render_person(person, form, status=200):
    return render_template(
        "admin/person.html", person=person, form=form, prefs=preferences_of(db.session, person),
        history=full_history(db.session, person), max_kib=current_app.config["PROOF_MAX_BYTES"] // 1024,
    ), status


@bp.get("/people/<public_id>")
def person(public_id: str):
    found = _person_or_404(public_id)
    form = OnBehalfForm()
    form.active.data = [p.channel.code for p in preferences_of(db.session, found) if p.active]
    return _render_person(found, form)


@bp.post("/people/<public_id>")
def record_for_person(public_id: str):
    found = _person_or_404(public_id)
    form = OnBehalfForm()
    form.active.choices = [SelectChoice(p.channel.code, p.channel.code) for p in preferences_of(db.session, found)]
    if not form.validate_on_submit():
        return _render_person(found, form, 400)
    upload = form.proof.data
    proof = Proof(upload.filename, upload.read()) if upload and upload.filename else None
    try:
        recorded = record_on_behalf(
            db.session, found, set(form.active.data or []), staff=current_user, method=form.method.data,
            evidence_text=form.evidence.data, proof=proof, trace=request_trace(request),
        )
    except StaffChangeError as error:
        form.proof.errors = [PROOF_ERRORS.get(str(error), _("This change cannot be recorded."))]
        return _render_person(found, form, 400)
    except RestrictedChannel:
        flash(_("The use of this person's data is restricted (GDPR art. 18): no channel can be switched on "
                "until the restriction is lifted through the rights request. Nothing was changed."), "error")
        return _render_person(found, form, 409)
    if recorded.receipt is None:
        flash(_("Nothing changed."), "info")
    else:
        flash(_("The change is recorded (receipt %(id)s).", id=recorded.receipt.public_id), "success")
    return redirect(url_for("admin.person", public_id=found.public_id))
