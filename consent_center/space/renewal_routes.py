"""A customer confirms a consent before it lapses (the reminder e-mail asks them to)."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import format_date, get_locale
from flask_babel import gettext as _
from flask_login import current_user

from consent_center.check.answer import lapses_at
from consent_center.extensions import db
from consent_center.policies.expiry import renew_consent
from consent_center.space import bp
from consent_center.space.forms import RenewForm
from consent_center.space.routes import customer_required
from consent_center.models.vocabulary import Source
from consent_center.web.trace import request_trace


@bp.post("/preferences/renew")
@customer_required
def renew():
    form = RenewForm()
    if not form.validate():
        return render_template("web/error.html", code=400, reason="form"), 400
    recorded = renew_consent(db.session, current_user.subject, form.channel.data, source=Source.CUSTOMER_SPACE,
                             account_id=current_user.id, trace=request_trace(request))
    if recorded.receipt is None:
        flash(_("Nothing changed."), "info")
    else:
        event = recorded.events[0]
        until = lapses_at(event.status, event.basis, event.occurred_at, event.channel.validity_months)
        flash(_("Thank you: your consent for %(channel)s is confirmed until %(date)s.",
                channel=event.channel.name(str(get_locale())), date=format_date(until, "long")), "success")
    return redirect(url_for("space.preferences"))
