"""Channels from the back office (admins): add one, require re-consent on one, deactivate one, name its partners."""
from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from consent_center.accounts.auth.forms import LogoutForm
from consent_center.policies.channels import (
    ChannelError,
    all_channels,
    create_channel,
    deactivate_channel,
    find_channel,
    set_partners,
    set_requires_reconsent,
)
from consent_center.extensions import db
from consent_center.accounts.staff_log import log_staff_action
from consent_center.admin import admin_only, bp
from consent_center.admin.forms import ChannelForm, ChannelReconsentForm, PartnersForm

CHANNEL_ERRORS = {
    "code": ("code", _l("Use 2 to 40 lower-case letters, digits or _, starting with a letter.")),
    "taken": ("code", _l("A channel already has this code.")),
    "default": ("default", _l("Choose a default from the list.")),
    "consent_default": ("default", _l("Consent can never be a default.")),
    "validity": ("validity_months", _l("A validity is at least one month.")),
    "medium": ("medium", _l("Choose a medium from the list.")),
    "electronic_legitimate_interest": ("default", _l("E-mail and SMS to individuals need their consent, or the soft "
                                                     "opt-in for customers: legitimate interest cannot start them "
                                                     "on (ePrivacy art. 13).")),
    "partners_default": ("default", _l("A channel that passes contact details to partners starts off for everyone: "
                                       "only the person's explicit consent turns it on (soft opt-in and legitimate "
                                       "interest never cover third parties).")),
    "partners_not_shared": ("shares_with_partners", _l("Partners are named only on a channel that passes contact "
                                                       "details to them: tick this box, or leave the partners empty.")),
    # The field of the locale at fault (ChannelError.locale).
    "partners_missing": ("partners", _l("Name at least one partner in this language: the person reads who "
                                        "receives their details before agreeing.")),
    "partner_name": ("partners", _l("A partner's name is at most 100 characters.")),
    "partners_many": ("partners", _l("At most 20 partners.")),
    "partners_added": ("partners", _l("A partner can be removed, not added: the consents given named the partners "
                                      "of their day. Add a new purpose for a new partner.")),
}


def _show_error(form, error: ChannelError) -> None:
    """Put the service's reason on the field it is about, the form kept as typed."""
    field, message = CHANNEL_ERRORS[str(error)]
    if field == "partners":
        field = f"partners_{error.locale}"
    getattr(form, field).errors = [message]


def _partners_forms(channels, kept: PartnersForm | None = None, kept_code: str | None = None) -> dict:
    """A partners form per channel that shares with partners: the one sent back as typed, the others as stored."""
    forms = {}
    for channel in channels:
        if channel.shares_with_partners and channel.active:
            forms[channel.code] = kept if channel.code == kept_code else PartnersForm(
                formdata=None, prefix=channel.code,
                data={f"partners_{locale}": "\n".join(channel.partners.get(locale, [])) for locale in ("fr", "nl", "en")})
    return forms


def _render(form: ChannelForm, status: int = 200, kept: PartnersForm | None = None, kept_code: str | None = None):
    channels = all_channels(db.session)
    return render_template("admin/channels.html", form=form, channels=channels,
                           partners_forms=_partners_forms(channels, kept, kept_code),
                           action_form=LogoutForm(), grace_days=current_app.config["RECONSENT_GRACE_DAYS"]), status


@bp.get("/channels")
@admin_only
def channels():
    return _render(ChannelForm())


@bp.post("/channels")
@admin_only
def add_channel():
    form = ChannelForm()
    if not form.validate_on_submit():
        return _render(form, 400)
    status, basis = form.default.data.split(":")
    try:
        channel = create_channel(
            db.session, code=form.code.data.strip(), names=form.texts("name"), purposes=form.texts("purpose"),
            default_status=status, default_basis=basis, validity_months=form.validity_months.data,
            medium=form.medium.data, shares_with_partners=form.shares_with_partners.data, partners=form.partners())
    except ChannelError as error:
        _show_error(form, error)
        return _render(form, 400)
    log_staff_action(db.session, current_user, "channel.created", f"channel:{channel.code}",
                     default_status=status, default_basis=basis, validity_months=channel.validity_months, medium=channel.medium,
                     **({"partners": channel.partners} if channel.shares_with_partners else {}))
    flash(_("The channel %(name)s is added.", name=channel.names.get("en") or channel.code), "success")
    return redirect(url_for("admin.channels"))


@bp.post("/channels/<code>/deactivate")
@admin_only
def deactivate(code: str):
    form = LogoutForm()  # the CSRF token only
    channel = find_channel(db.session, code)
    if channel is None:
        abort(404)
    if not form.validate_on_submit():
        return render_template("web/error.html", code=400, reason="csrf"), 400
    if channel.active:
        deactivate_channel(db.session, channel)
        log_staff_action(db.session, current_user, "channel.deactivated", f"channel:{channel.code}")
    flash(_("The channel %(code)s no longer appears on the preference pages; its history stays.",
            code=channel.code), "success")
    return redirect(url_for("admin.channels"))


@bp.post("/channels/<code>/reconsent")
@admin_only
def channel_reconsent(code: str):
    form = ChannelReconsentForm()
    channel = find_channel(db.session, code)
    if channel is None:
        abort(404)
    if not form.validate_on_submit():
        return render_template("web/error.html", code=400, reason="csrf"), 400
    required = form.required.data == "yes"
    if set_requires_reconsent(db.session, channel, required):
        log_staff_action(db.session, current_user, "channel.reconsent_required" if required
                         else "channel.reconsent_not_required", f"channel:{channel.code}",
                         requires_reconsent=required)
    if required:
        flash(_("On %(code)s, a consent not confirmed under a material policy change now stops counting "
                "%(days)s days after that change.", code=channel.code,
                days=current_app.config["RECONSENT_GRACE_DAYS"]), "success")
    else:
        flash(_("On %(code)s, consents given under earlier policy versions stay valid.", code=channel.code),
              "success")
    return redirect(url_for("admin.channels"))


@bp.post("/channels/<code>/partners")
@admin_only
def channel_partners(code: str):
    channel = find_channel(db.session, code)
    if channel is None or not channel.shares_with_partners:
        abort(404)
    form = PartnersForm(prefix=code)
    if not form.validate_on_submit():
        return _render(ChannelForm(formdata=None), 400, form, code)
    before = channel.partners
    try:
        changed = set_partners(db.session, channel, form.partners())
    except ChannelError as error:
        _show_error(form, error)
        return _render(ChannelForm(formdata=None), 400, form, code)
    if changed:
        log_staff_action(db.session, current_user, "channel.partners_changed", f"channel:{channel.code}",
                         before=before, after=channel.partners)
    flash(_("The partners of %(code)s are saved: people read them beside its switch.", code=channel.code), "success")
    return redirect(url_for("admin.channels"))
