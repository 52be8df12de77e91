"""The auditor's pages: read-only, except running a ledger verification."""
from __future__ import annotations

import json

from flask import (Response, abort, current_app, flash, redirect, render_template, request,
                   stream_with_context, url_for)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user
from sqlalchemy import select

from consent_center.ledger.asof import counts_as_of, states_as_of
from consent_center.ledger.history import find_subject, find_subjects, full_history, policy_periods
from consent_center.accounts.auth.forms import LogoutForm
from consent_center.accounts.staff_log import log_staff_action
from consent_center.export.events import MEDIA_TYPES, download_name, stream_events
from consent_center.export.filters import FORMATS, ExportFilters, FilterError
from consent_center.extensions import db
from consent_center.inbound.evidence import PAGE as INBOUND_PAGE
from consent_center.inbound.evidence import latest_messages, message_rows
from consent_center.models import Channel, PolicyVersion, Source, Status
from consent_center.ledger.checkpoints import checkpoint_file_name, latest_checkpoint, verifier_list
from consent_center.ledger.verification import last_verification, run_verification
from consent_center.audit import bp
from consent_center.audit.forms import parse_as_of
from consent_center.unsubscribe.reasons import reason_counts


FILTER_MESSAGES = {
    "time": _l("Enter a date as YYYY-MM-DD."),
    "order": _l("The end must come after the start."),
    "unknown": _l("Nothing is known by this name."),
}


def _as_of():
    return parse_as_of(request.args, current_app.config["BABEL_DEFAULT_TIMEZONE"])


@bp.get("/")
def index():
    return render_template("audit/index.html", last_run=last_verification(db.session), form=LogoutForm(),
                           checkpoint=latest_checkpoint(db.session), reasons=reason_counts(db.session))


@bp.post("/verification")
def verify_ledger():
    form = LogoutForm()  # the CSRF token only
    if not form.validate_on_submit():
        return render_template("web/error.html", code=400, reason="csrf"), 400
    run, _report = run_verification(db.session, started_by=f"account:{current_user.id}")
    log_staff_action(db.session, current_user, "ledger.verified", None, ok=run.ok, events=run.events,
                     subjects=run.subjects, first_break=run.first_break)
    if run.ok:
        flash(_("The ledger holds: %(events)s in %(chains)s verified.",
                events=ngettext("%(num)s event", "%(num)s events", run.events),
                chains=ngettext("%(num)s chain", "%(num)s chains", run.subjects)), "success")
    else:
        reason = run.first_break or run.findings.split("\n", 1)[0]
        flash(_("The ledger is broken: %(reason)s", reason=reason), "error")
    return redirect(url_for("audit.index"))


@bp.get("/subjects")
def search():
    query = request.args.get("q", "").strip()[:320]
    subjects = find_subjects(db.session, query) if query else []
    return render_template("find_person.html", query=query, subjects=subjects,
                           search_endpoint="audit.search", person_endpoint="audit.subject")


@bp.get("/subjects/<public_id>")
def subject(public_id: str):
    person = find_subject(db.session, public_id)
    if person is None:
        abort(404)
    as_of = _as_of()
    return render_template(
        "audit/subject.html", person=person, as_of=as_of,
        states=states_as_of(db.session, person, as_of.at), history=full_history(db.session, person),
    ), 400 if as_of.error else 200


@bp.get("/counts")
def counts():
    as_of = _as_of()
    channels = db.session.scalars(select(Channel).order_by(Channel.position, Channel.code)).all()
    return render_template("audit/counts.html", as_of=as_of, channels=channels,
                           counts=counts_as_of(db.session, as_of.at),
                           statuses=list(Status)), 400 if as_of.error else 200


@bp.get("/policies")
def policies():
    return render_template("audit/policies.html", periods=policy_periods(db.session))


@bp.get("/export")
def export_form():
    error = None
    filters = ExportFilters()
    try:
        filters = ExportFilters.parse(request.args)
        filters.resolve(db.session)
    except FilterError as exc:
        error = exc
    channels = db.session.scalars(select(Channel).order_by(Channel.position, Channel.code)).all()
    versions = db.session.scalars(select(PolicyVersion).order_by(PolicyVersion.effective_at)).all()
    return render_template(
        "audit/export.html", args=request.args, error=error, filter_args=filters.as_args(),
        error_message=FILTER_MESSAGES.get(error.reason, "") if error else None,
        channels=channels, versions=versions, sources=list(Source), formats=FORMATS,
    ), 400 if error else 200


@bp.get("/export/events.<format>")
def export_events(format: str):
    if format not in FORMATS:
        abort(404)
    try:
        chunks = stream_events(db.session, format, ExportFilters.parse(request.args))
    except FilterError:
        return export_form()  # the form again, with the error, as a 400
    return Response(
        stream_with_context(chunks), content_type=MEDIA_TYPES[format],
        headers={"Content-Disposition": f'attachment; filename="{download_name(format)}"'},
    )


def _download(text: str, filename: str) -> Response:
    return Response(text, mimetype="text/plain",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@bp.get("/log/checkpoint")
def download_checkpoint():
    """The latest signed checkpoint, as a file to keep where the operator cannot change it."""
    latest = latest_checkpoint(db.session)
    if latest is None:
        abort(404)
    return _download(latest.note, checkpoint_file_name(latest.tree_size))


@bp.get("/log/key")
def download_verifier_key():
    """Every checkpoint verifier key, the active one first, one a line (those retired verify older checkpoints)."""
    return _download(verifier_list(), "verifier-key.txt")


@bp.get("/inbound")
def inbound_messages():
    """The newest messages the inbound hooks accepted: what each said and did."""
    return render_template("audit/inbound.html", messages=latest_messages(db.session), page=INBOUND_PAGE)


@bp.get("/inbound/messages.jsonl")
def export_inbound_messages():
    """Every accepted message, oldest first, as JSON Lines (as `hook messages --export`)."""
    rows = (json.dumps(row, ensure_ascii=False) + "\n" for row in message_rows(db.session))
    return Response(stream_with_context(rows), content_type="application/x-ndjson; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="inbound-messages.jsonl"'})
