from __future__ import annotations

from functools import wraps

from flask import abort, flash, redirect, render_template, request, session, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required

from consent_center.receipts import documents as receipts
from consent_center.ledger import RestrictedChannel
from consent_center.ledger.receipt_log import receipt_file
from consent_center.ledger.receipt_log import receipt_log
from consent_center.web.labels import RESTRICTED_MESSAGE
from consent_center.extensions import db
from consent_center.subjects.deliverability import undeliverable_among
from consent_center.subjects.preferences import history_of, preferences_of, save_preferences
from consent_center.policies.channels import all_channels
from consent_center.policies.reconsent import reconsent_due
from consent_center.web.paging import before_cursor
from consent_center.web.receipt_note import flash_receipt, receipt_attachment
from consent_center.web.trace import request_trace
from consent_center.space import bp
from consent_center.subjects.forms import PreferencesForm

HISTORY_PAGE = 50
RECEIPTS_PAGE = 50
# The policy version whose confirmation the customer put off, for this session only.
RECONSENT_LATER_KEY = "reconsent_later"


def customer_required(view):
    """Only a customer account, and only for its own subject."""
    @wraps(view)
    @login_required
    def wrapped(*args, **kwargs):
        if current_user.subject is None:
            abort(403)
        return view(*args, **kwargs)
    return wrapped


@bp.route("/preferences", methods=["GET", "POST"])
@customer_required
def preferences():
    subject = current_user.subject
    prefs = preferences_of(db.session, subject)
    form = PreferencesForm()
    form.active.choices = [(p.channel.code, p.channel.code) for p in prefs]
    if request.method == "POST":
        if not form.validate():
            return render_template("web/error.html", code=400, reason="form"), 400
        try:
            recorded = save_preferences(
                db.session, subject, set(form.active.data or []),
                account_id=current_user.id, trace=request_trace(request),
            )
        except RestrictedChannel:
            flash(str(RESTRICTED_MESSAGE), "error")
            form.active.data = [p.channel.code for p in prefs if p.active]
            return render_template("space/preferences.html", form=form, prefs=prefs), 409
        if recorded.receipt is None:
            flash(_("Nothing changed."), "info")
        else:
            locale = str(get_locale())
            for event in recorded.events:
                channel_name = event.channel.name(locale) if event.channel else ""
                flash(_("%(channel)s is now %(state)s.", channel=channel_name,
                        state=_("Active") if event.status == "granted" else _("Inactive")), "success")
            flash_receipt(recorded, receipt_url)
        return redirect(url_for("space.preferences"))
    due = reconsent_due(db.session, subject)
    if due is not None and session.get(RECONSENT_LATER_KEY) != due.version.label:
        return redirect(url_for("space.reconsent"))
    form.active.data = [p.channel.code for p in prefs if p.active]
    # Mail to the address bounces for good: the person can correct it (another address is not marked).
    undeliverable = undeliverable_among(db.session, [subject.email]) if subject.email else {}
    return render_template("space/preferences.html", form=form, prefs=prefs, reconsent_due=due,
                           renew_action=url_for("space.renew"), undeliverable=bool(undeliverable))


def receipt_url(public_id: str) -> str:
    """Where a logged-in customer opens one of their receipts."""
    return url_for("space.receipt", public_id=public_id)


@bp.get("/history")
@customer_required
def history():
    before = before_cursor(request.args)
    events = history_of(db.session, current_user.subject, limit=HISTORY_PAGE + 1, before=before)
    more = len(events) > HISTORY_PAGE
    events = events[:HISTORY_PAGE]
    return render_template("space/history.html", events=events,
                           next_before=events[-1].seq if more else None)


@bp.get("/receipts")
@customer_required
def receipts_list():
    before = before_cursor(request.args)
    page = receipts.receipts_of(db.session, current_user.subject, limit=RECEIPTS_PAGE + 1, before=before)
    more = len(page) > RECEIPTS_PAGE
    page = page[:RECEIPTS_PAGE]
    return render_template("space/receipts.html", receipts=[(r, receipts.document_of(r)) for r in page],
                           next_before=page[-1].id if more else None, channels=_channels_by_code())


@bp.get("/receipts/<public_id>")
@customer_required
def receipt(public_id: str):
    found = receipts.receipt_of(db.session, current_user.subject, public_id)
    if found is None:
        abort(404)  # someone else's receipt does not exist, as far as this customer knows
    document = receipts.document_of(found)
    return render_template("space/receipt.html", receipt=found, document=document,
                           kid=receipts.key_id_of(found), alg=receipts.algorithm_of(found),
                           log=receipt_log(db.session, document), channels=_channels_by_code())


def _channels_by_code() -> dict:
    """The channels a receipt names, to show them in the viewer's language.

    A receipt is signed in the subject's language at the time; the page
    speaks the viewer's, and the download stays exactly as signed.
    """
    return {c.code: c for c in all_channels(db.session)}


@bp.get("/receipts/<public_id>.json")
@customer_required
def receipt_download(public_id: str):
    found = receipts.receipt_of(db.session, current_user.subject, public_id)
    if found is None:
        abort(404)
    return receipt_attachment(*receipt_file(db.session, found))
