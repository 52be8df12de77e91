"""/space/preferences/stop-all: "unsubscribe from everything", after a confirmation step."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from consent_center.extensions import db
from consent_center.space import bp
from consent_center.space.forms import StopAllForm
from consent_center.space.routes import customer_required, receipt_url
from consent_center.subjects.preferences import commercial_active, withdraw_all_commercial
from consent_center.web.receipt_note import flash_receipt
from consent_center.web.trace import request_trace


@bp.route("/preferences/stop-all", methods=["GET", "POST"])
@customer_required
def stop_all():
    """GET asks to confirm, naming each channel; POST withdraws those still active, in one receipt."""
    subject = current_user.subject
    form = StopAllForm()
    if request.method == "POST":
        if not form.validate():
            return render_template("web/error.html", code=400, reason="form"), 400
        recorded = withdraw_all_commercial(db.session, subject, set(form.channel.data or []),
                                           account_id=current_user.id, trace=request_trace(request))
        if recorded.receipt is None:
            flash(_("Nothing changed: you receive none of these messages any more."), "info")
        else:
            locale = str(get_locale())
            flash(_("Done: you will no longer receive: %(channels)s.",
                    channels=", ".join(e.channel.name(locale) for e in recorded.events)), "success")
            flash_receipt(recorded, receipt_url)
        return redirect(url_for("space.preferences"))
    return render_template("space/stop_all.html", form=form, channels=commercial_active(db.session, subject))
