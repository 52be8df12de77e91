"""A customer confirms a consent before it lapses (the reminder e-mail asks them to)."""
from __future__ import annotations

from flask import redirect, render_template, request, url_for
from flask_login import current_user

from consent_center.extensions import db
from consent_center.models.vocabulary import Source
from consent_center.policies.expiry import renew_consent
from consent_center.space import bp
from consent_center.space.routes import customer_required, receipt_url
from consent_center.subjects.forms import RenewForm, flash_renewal
from consent_center.web.receipt_note import flash_receipt
from consent_center.web.trace import request_trace


@bp.post("/preferences/renew")
@customer_required
def renew():
    form = RenewForm()
    if not form.validate():
        return render_template("web/error.html", code=400, reason="form"), 400
    code, seen_seq = form.renewal()
    recorded = renew_consent(db.session, current_user.subject, code, source=Source.CUSTOMER_SPACE,
                             account_id=current_user.id, trace=request_trace(request), seen_seq=seen_seq)
    flash_renewal(recorded)
    flash_receipt(recorded, receipt_url)
    return redirect(url_for("space.preferences"))
