"""/space/data: everything held about the customer, on a page and as downloads."""
from __future__ import annotations

import json

from flask import Response, render_template
from flask_babel import get_locale
from flask_login import current_user

from consent_center.extensions import db
from consent_center.policies.channels import all_channels
from consent_center.subjects.subject_export import export_csv, subject_export
from consent_center.space import bp
from consent_center.space.routes import customer_required


@bp.get("/data")
@customer_required
def my_data():
    # The page shows the download's document, written for people: channel names in the
    # viewer's language, dates through the one formatter, newest first (as history).
    locale = str(get_locale())
    names = {c.code: c.name(locale) for c in all_channels(db.session)}
    return render_template("space/data.html", doc=subject_export(db.session, current_user.subject),
                           channel_names=names)


def _download(body: str, content_type: str, extension: str) -> Response:
    name = f"my-data-{current_user.subject.public_id}.{extension}"
    return Response(body, content_type=content_type,
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@bp.get("/data.json")
@customer_required
def my_data_json():
    document = subject_export(db.session, current_user.subject)
    body = json.dumps(document, ensure_ascii=False, indent=2, sort_keys=True) + "\n"
    return _download(body, "application/json; charset=utf-8", "json")


@bp.get("/data.csv")
@customer_required
def my_data_csv():
    return _download(export_csv(subject_export(db.session, current_user.subject)), "text/csv; charset=utf-8", "csv")
