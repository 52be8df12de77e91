"""/space/profile: rectification; /space/email/confirm/<token>: the new address's link."""
from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from consent_center import tokens
from consent_center.extensions import db
from consent_center.subjects.rectification import (
    RectificationError, SuppressedValue, confirm_change, pending_change, rectify,
)
from consent_center.space import bp
from consent_center.space.forms import ConfirmForm, ProfileForm
from consent_center.space.routes import customer_required


@bp.route("/profile", methods=["GET", "POST"])
@customer_required
def profile():
    subject = current_user.subject
    form = ProfileForm()
    if form.validate_on_submit():
        try:
            asked = rectify(db.session, subject, current_user, name=form.name.data, phone=form.phone.data,
                            postal_address=form.postal_address.data, locale=form.locale.data,
                            email=form.email.data)
        except SuppressedValue:
            # Less than the API tells a CRM: not that the number was erased, nor whose it was.
            form.phone.errors = [_("This phone number cannot be used. Nothing was changed.")]
            return render_template("space/profile.html", form=form), 409
        except RectificationError as exc:
            getattr(form, exc.field).errors = [_("Please check this field.")]
            return render_template("space/profile.html", form=form), 422
        flash(_("Your details are updated."), "success")
        if asked:
            flash(_("To change your e-mail address, open the link we sent to the new address."), "info")
        return redirect(url_for("space.profile"))
    if form.errors:
        return render_template("space/profile.html", form=form), 400
    form.name.data, form.email.data = subject.name, subject.email
    form.phone.data, form.postal_address.data, form.locale.data = subject.phone, subject.postal_address, subject.locale
    return render_template("space/profile.html", form=form)


@bp.route("/email/confirm/<token>", methods=["GET", "POST"])
def confirm_email(token: str):
    form = ConfirmForm()
    try:
        _subject, new_email = pending_change(db.session, token)
        if form.validate_on_submit():
            confirm_change(db.session, token)
            flash(_("Your e-mail address is now %(email)s.", email=new_email), "success")
            return render_template("space/email_confirmed.html", email=new_email)
    except tokens.TokenError:
        return render_template("space/email_confirmed.html", email=None), 410
    return render_template("space/email_confirm.html", form=form, email=new_email)
