"""Suppression lists on the back office (admins): each list, and the upload of an external one."""
from __future__ import annotations

import io

from flask import current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from consent_center.accounts.staff_log import log_staff_action
from consent_center.admin import admin_only, bp
from consent_center.admin.forms import SuppressionListForm
from consent_center.clock import utcnow
from consent_center.extensions import db
from consent_center.subjects.list_import import ListImportError, all_lists, import_list


def _render(form: SuppressionListForm, status: int = 200, errors=()):
    return render_template("admin/suppression.html", form=form, lists=all_lists(db.session),
                           today=utcnow().date(), errors=errors), status


@bp.get("/suppression")
@admin_only
def suppression_lists():
    form = SuppressionListForm()
    form.region.data = form.region.data or current_app.config["JURISDICTION"].upper()
    return _render(form)


@bp.post("/suppression")
@admin_only
def suppression_upload():
    form = SuppressionListForm()
    if not form.validate_on_submit():
        return _render(form, 400)
    upload = form.file.data
    try:
        lines = io.StringIO(upload.read().decode("utf-8-sig"), newline="")
        done = import_list(db.session, lines, name=form.name.data, medium=form.medium.data,
                           list_date=form.list_date.data, valid_until=form.valid_until.data,
                           customers_exempt=bool(form.customers_exempt.data), region=form.region.data)
    except UnicodeDecodeError:
        form.file.errors = [_("This file is not UTF-8 text.")]
        return _render(form, 400)
    except ListImportError as error:
        db.session.rollback()
        form.file.errors = [_("This file cannot be imported: %(reason)s", reason=str(error))]
        return _render(form, 400, error.errors)
    log_staff_action(db.session, current_user, "suppression_list.imported", f"list:{done.name}"[:200],
                     medium=done.medium, entries=done.entries, replaced=done.replaced,
                     file=(upload.filename or "")[:100])
    flash(_("The list %(name)s is imported: %(count)s entries.", name=done.name, count=done.entries), "success")
    return redirect(url_for("admin.suppression_lists"))
