"""The re-consent page a customer sees once a material policy version is in force."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user
from wtforms import SelectChoice

from consent_center.extensions import db
from consent_center.subjects.preferences import preferences_of
from consent_center.policies.reconsent import confirm_choices, reconsent_due
from consent_center.web.trace import request_trace
from consent_center.space import bp
from consent_center.subjects.forms import PreferencesForm
from consent_center.space.routes import RECONSENT_LATER_KEY as LATER_KEY
from consent_center.space.routes import customer_required, receipt_url
from consent_center.web.receipt_note import flash_receipt


@bp.route("/reconsent", methods=["GET", "POST"])
@customer_required
def reconsent():
    subject = current_user.subject
    due = reconsent_due(db.session, subject)
    if due is None:
        return redirect(url_for("space.preferences"))
    prefs = preferences_of(db.session, subject)
    form = PreferencesForm()
    form.active.choices = [SelectChoice(p.channel.code, p.channel.code) for p in prefs]
    if request.method == "POST":
        if not form.validate():
            return render_template("space/reconsent.html", form=form, prefs=prefs, due=due), 400
        recorded = confirm_choices(db.session, subject, set(form.active.data or []), account_id=current_user.id,
                        trace=request_trace(request))
        session.pop(LATER_KEY, None)
        flash(_("Thank you: your choices are confirmed under the privacy policy %(version)s.",
                version=due.version.label), "success")
        flash_receipt(recorded, receipt_url)
        return redirect(url_for("space.preferences"))
    form.active.data = [p.channel.code for p in prefs if p.active]
    return render_template("space/reconsent.html", form=form, prefs=prefs, due=due)


@bp.post("/reconsent/later")
@customer_required
def reconsent_later():
    form = PreferencesForm()  # the CSRF token only
    form.active.choices = []
    due = reconsent_due(db.session, current_user.subject)
    if not form.validate() or due is None:
        return redirect(url_for("space.preferences"))
    session[LATER_KEY] = due.version.label
    flash(_("Your choices stay as they are. You can confirm them later from this page."), "info")
    return redirect(url_for("space.preferences"))
