"""Importing contacts from the back office (admins): the CLI's import, as an upload."""
from __future__ import annotations

import io

from flask import render_template
from flask_babel import gettext as _
from flask_login import current_user

from consent_center.extensions import db
from consent_center.subjects.importer import ImportFileError, import_contacts
from consent_center.ledger import Actor
from consent_center.models import ActorType
from consent_center.accounts.staff_log import log_staff_action
from consent_center.admin import admin_only, bp
from consent_center.admin.forms import ImportForm
from consent_center.admin.import_messages import translated

# The page lists this many report lines; the counts cover them all.
REPORT_LINES_SHOWN = 1000


def _render(form: ImportForm, status: int = 200, report=None, dry_run: bool = False):
    lines = []
    if report is not None:
        lines = sorted([(line, "rejected", translated(message)) for line, message in report.errors]
                       + [(line, "kept", translated(message)) for line, message in report.kept])
    return render_template("admin/import.html", form=form, report=report, dry_run=dry_run,
                           lines=lines[:REPORT_LINES_SHOWN], more=max(0, len(lines) - REPORT_LINES_SHOWN)), status


@bp.get("/import")
@admin_only
def import_form():
    return _render(ImportForm())


@bp.post("/import")
@admin_only
def import_upload():
    form = ImportForm()
    if not form.validate_on_submit():
        return _render(form, 400)
    upload = form.file.data
    try:
        text = io.StringIO(upload.read().decode("utf-8-sig"), newline="")
        report = import_contacts(db.session, text, actor=Actor(ActorType.ACCOUNT, str(current_user.id)))
    except UnicodeDecodeError:
        form.file.errors = [_("This file is not UTF-8 text.")]
        return _render(form, 400)
    except ImportFileError as error:
        reason = translated(error.args[0] if error.args else "")
        form.file.errors = [_("This file cannot be imported: %(reason)s", reason=reason)]
        return _render(form, 400)
    if form.dry_run.data:
        db.session.rollback()  # a dry run writes nothing but its line in the staff log
    log_staff_action(db.session, current_user, "import.run", f"file:{upload.filename}"[:200],
                     dry_run=bool(form.dry_run.data), rows=report.rows, created=report.created,
                     changed=report.changed, unchanged=report.unchanged, rejected=len(report.errors),
                     kept=len(report.kept))
    return _render(form, report=report, dry_run=bool(form.dry_run.data))
