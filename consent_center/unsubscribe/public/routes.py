from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _

from consent_center.unsubscribe import manage_links, newsletter
from consent_center.ledger import RestrictedChannel
from consent_center.web.labels import RESTRICTED_MESSAGE
from consent_center.extensions import db, limiter
from consent_center.unsubscribe.manage_links import ManageLinkError
from consent_center.models import Source
from consent_center.policies.service import render_markdown
from consent_center.unsubscribe.newsletter import SignupError
from consent_center.subjects.preferences import preferences_of, save_preferences
from consent_center.web.rate_limits import address_key, address_limit, public_limit
from consent_center.subjects.forms import PreferencesForm, RenewForm, flash_renewal
from consent_center.policies.expiry import renew_consent
from consent_center.web.errors import link_invalid
from consent_center.web.receipt_note import flash_receipt, receipt_attachment, receipt_sentence
from consent_center.receipts.documents import receipt_of
from consent_center.ledger.receipt_log import receipt_file
from consent_center.web.trace import request_trace
from consent_center.unsubscribe.public import bp
from consent_center.unsubscribe.public.forms import ConfirmForm, ManageForm, SubscribeForm

def _policy_html(policy):
    text = policy.text(str(get_locale()))
    return render_markdown(text.body) if text else ""


@bp.route("/subscribe", methods=["GET", "POST"])
@limiter.limit(public_limit, methods=["POST"])
@limiter.limit(address_limit, key_func=address_key, methods=["POST"])
def subscribe():
    policy = newsletter.open_policy(db.session)
    if policy is None:
        return render_template("unsubscribe/subscribe_closed.html"), 503
    form = SubscribeForm(locale=str(get_locale()), policy_version=policy.label)
    if form.validate_on_submit():
        try:
            newsletter.sign_up(db.session, email=form.email.data, name=form.name.data,
                               locale=form.locale.data, policy_label=form.policy_version.data,
                               trace=request_trace(request))
        except SignupError as exc:
            if exc.reason == "policy_changed":
                # A new version was published while the form was open: show it.
                flash(_("The privacy policy has changed since you opened this page. "
                        "Please read the new version and tick the box again."), "error")
                form.policy_version.data, form.accept_policy.data = policy.label, False
            else:
                form.email.errors = [*form.email.errors, _("Please enter a valid e-mail address.")]
            return render_template("unsubscribe/subscribe.html", form=form, policy=policy,
                                   policy_html=_policy_html(policy)), 400
        # The same answer whether the address is new, pending or subscribed.
        return redirect(url_for("public.subscribe_sent"))
    status = 400 if request.method == "POST" else 200
    return render_template("unsubscribe/subscribe.html", form=form, policy=policy,
                           policy_html=_policy_html(policy)), status


@bp.get("/subscribe/sent")
def subscribe_sent():
    return render_template("unsubscribe/sent.html", what="subscribe")


@bp.route("/subscribe/confirm/<token>", methods=["GET", "POST"])
def confirm_signup(token: str):
    """GET shows a button and changes nothing (mail scanners fetch links); POST confirms."""
    try:
        signup = newsletter.signup_for(db.session, token)
    except SignupError:
        return link_invalid(url_for("public.subscribe"), _("Sign up again"))
    form = ConfirmForm()
    if request.method == "POST":
        if not form.validate():
            return render_template("web/error.html", code=400, reason="csrf"), 400
        recorded = newsletter.confirm(db.session, signup, trace=request_trace(request))
        note = receipt_sentence(recorded.receipt.public_id, None) if recorded and recorded.receipt else None
        return render_template("unsubscribe/confirmed.html", already=recorded is None, receipt_note=note)
    if signup.confirmed_at is not None:
        return render_template("unsubscribe/confirmed.html", already=True)
    return render_template("unsubscribe/confirm.html", form=form, signup=signup)


@bp.route("/manage", methods=["GET", "POST"])
@limiter.limit(public_limit, methods=["POST"])
@limiter.limit(address_limit, key_func=address_key, methods=["POST"])
def manage():
    form = ManageForm()
    if form.validate_on_submit():
        manage_links.request_link(db.session, form.email.data)
        # Known or not, the same redirect: nothing tells who is known.
        return redirect(url_for("public.manage_sent"))
    status = 400 if request.method == "POST" else 200
    return render_template("unsubscribe/manage.html", form=form), status


@bp.get("/manage/sent")
def manage_sent():
    return render_template("unsubscribe/sent.html", what="manage")


@bp.route("/manage/<token>", methods=["GET", "POST"])
def manage_preferences(token: str):
    try:
        subject = manage_links.subject_for(db.session, token)
    except ManageLinkError:
        return link_invalid(url_for("public.manage"), _("Receive a new link by e-mail"))
    prefs = preferences_of(db.session, subject)
    form = PreferencesForm()
    form.active.choices = [(p.channel.code, p.channel.code) for p in prefs]
    if request.method == "POST":
        if not form.validate():
            return render_template("web/error.html", code=400, reason="form"), 400
        try:
            recorded = save_preferences(db.session, subject, set(form.active.data or []), account_id=None,
                                        trace=request_trace(request), source=Source.MANAGE_LINK)
        except RestrictedChannel:
            flash(str(RESTRICTED_MESSAGE), "error")
            form.active.data = [p.channel.code for p in prefs if p.active]
            return _manage_page(token, form, prefs), 409
        _flash_changes(recorded)
        flash_receipt(recorded, _manage_receipt_url(token))
        return redirect(url_for("public.manage_preferences", token=token))
    form.active.data = [p.channel.code for p in prefs if p.active]
    return _manage_page(token, form, prefs)


@bp.post("/manage/<token>/renew")
def manage_renew(token: str):
    """The "Confirm it" button of a consent that lapses (the reminder e-mail links to the manage page)."""
    try:
        subject = manage_links.subject_for(db.session, token)
    except ManageLinkError:
        return link_invalid(url_for("public.manage"), _("Receive a new link by e-mail"))
    form = RenewForm()
    if not form.validate():
        return render_template("web/error.html", code=400, reason="form"), 400
    code, seen_seq = form.renewal()
    try:
        recorded = renew_consent(db.session, subject, code, source=Source.MANAGE_LINK, account_id=None,
                                 trace=request_trace(request), seen_seq=seen_seq)
    except RestrictedChannel:
        flash(str(RESTRICTED_MESSAGE), "error")
        prefs = preferences_of(db.session, subject)
        form = PreferencesForm(formdata=None, active=[p.channel.code for p in prefs if p.active])
        return _manage_page(token, form, prefs), 409
    flash_renewal(recorded)
    flash_receipt(recorded, _manage_receipt_url(token))
    return redirect(url_for("public.manage_preferences", token=token))


@bp.get("/manage/<token>/receipts/<public_id>.json")
def manage_receipt(token: str, public_id: str):
    """A receipt of the link's subject, as signed with its log part: what the manage link authorises."""
    try:
        subject = manage_links.subject_for(db.session, token)
    except ManageLinkError:
        return link_invalid(url_for("public.manage"), _("Receive a new link by e-mail"))
    found = receipt_of(db.session, subject, public_id)
    if found is None:
        abort(404)  # another subject's receipt does not exist, as far as this link knows
    return receipt_attachment(*receipt_file(db.session, found))


def _manage_receipt_url(token: str):
    return lambda public_id: url_for("public.manage_receipt", token=token, public_id=public_id)


def _manage_page(token: str, form: PreferencesForm, prefs) -> str:
    return render_template("space/preferences.html", form=form, prefs=prefs, managed_by_link=True,
                           form_action=url_for("public.manage_preferences", token=token),
                           renew_action=url_for("public.manage_renew", token=token))


def _flash_changes(recorded) -> None:
    if recorded.receipt is None:
        flash(_("Nothing changed."), "info")
        return
    locale = str(get_locale())
    for event in recorded.events:
        flash(_("%(channel)s is now %(state)s.", channel=event.channel.name(locale),
                state=_("Active") if event.status == "granted" else _("Inactive")), "success")
