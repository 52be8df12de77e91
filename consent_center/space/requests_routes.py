"""/space/requests: the customer files rights requests and follows them."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from consent_center.rights import requests as data_requests
from consent_center.extensions import db
from consent_center.web.dates import format_when
from consent_center.web.labels import REQUEST_KIND_LABELS
from consent_center.rights.mail import tell_received
from consent_center.space import bp
from consent_center.space.forms import DataRequestForm
from consent_center.space.routes import customer_required


def _form() -> DataRequestForm:
    form = DataRequestForm()
    form.kind.choices = [(kind, str(REQUEST_KIND_LABELS[kind])) for kind in data_requests.KINDS]
    return form


@bp.route("/requests", methods=["GET", "POST"])
@customer_required
def requests_list():
    subject = current_user.subject
    form = _form()
    if form.validate_on_submit():
        try:
            filed = data_requests.file_request(
                db.session, subject, form.kind.data, details=form.details.data,
                trusted_contact=form.trusted_contact.data)
        except data_requests.RequestError:
            flash(_("For instructions after your death, name a trusted person or say what to do with your data."),
                  "error")
            return render_template("space/requests.html", form=form,
                                   requests=data_requests.requests_of(db.session, subject)), 422
        tell_received(db.session, filed)
        flash(_("Your request is registered. We answer by %(date)s.",
                date=format_when(filed.due_at, "day")), "success")
        return redirect(url_for("space.request_detail", public_id=filed.public_id))
    if form.errors:
        return render_template("space/requests.html", form=form,
                               requests=data_requests.requests_of(db.session, subject)), 400
    return render_template("space/requests.html", form=form,
                           requests=data_requests.requests_of(db.session, subject))


@bp.get("/requests/<public_id>")
@customer_required
def request_detail(public_id: str):
    found = data_requests.request_of(db.session, current_user.subject, public_id)
    if found is None:
        abort(404)  # another customer's request does not exist, as far as this one knows
    return render_template("space/request.html", request_=found)
