"""Publishing policy versions from the back office (admins)."""
from __future__ import annotations

from datetime import datetime, time, timezone
from zoneinfo import ZoneInfo

from flask import current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from consent_center.clock import utcnow
from consent_center.extensions import db
from consent_center.policies.service import PolicyError, all_versions, find_version, policy_in_force, publish_policy
from consent_center.accounts.staff_log import log_staff_action
from consent_center.admin import admin_only, bp
from consent_center.admin.forms import PolicyVersionForm


def _effective_at(form: PolicyVersionForm) -> datetime | None:
    """The form's date and time in the display time zone, as UTC; None (now) without a date."""
    if not form.effective_date.data:
        return None
    local = datetime.combine(form.effective_date.data, form.effective_time.data or time(0, 0))
    zone = ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])
    return local.replace(tzinfo=zone).astimezone(timezone.utc)


def _render(form: PolicyVersionForm, status: int = 200):
    return render_template("admin/policies.html", form=form, versions=list(reversed(all_versions(db.session))),
                           in_force=policy_in_force(db.session), now=utcnow()), status


@bp.get("/policies")
@admin_only
def policies():
    return _render(PolicyVersionForm())


@bp.post("/policies")
@admin_only
def publish():
    form = PolicyVersionForm()
    if not form.validate_on_submit():
        return _render(form, 400)
    texts = form.texts()
    effective_at = _effective_at(form)
    if not texts:
        form.text_fr.errors = [_("Give the text in at least one language.")]
        return _render(form, 400)
    if effective_at is not None and effective_at < utcnow():
        # A past date would change, after the fact, which text earlier choices were made under.
        form.effective_date.errors = [_("A version cannot come into force in the past.")]
        return _render(form, 400)
    if find_version(db.session, form.label.data.strip()) is not None:
        form.label.errors = [_("This version is already published: a correction is a new version.")]
        return _render(form, 400)
    try:
        version = publish_policy(db.session, form.label.data, texts, effective_at=effective_at,
                                 material=form.material.data)
    except PolicyError:
        form.label.errors = [_("This version cannot be published.")]
        return _render(form, 400)
    log_staff_action(db.session, current_user, "policy.published", f"policy:{version.label}",
                     effective_at=version.effective_at.isoformat(), material=version.material,
                     sha256={t.locale: t.sha256 for t in version.texts})
    flash(_("Policy version %(label)s is published.", label=version.label), "success")
    return redirect(url_for("admin.policies"))
