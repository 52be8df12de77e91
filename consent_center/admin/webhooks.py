"""Webhook endpoints from the back office (admins): register one (secret shown once), disable one."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from consent_center.accounts.auth.forms import LogoutForm
from consent_center.extensions import db
from consent_center.accounts.staff_log import log_staff_action
from consent_center.outbox.webhooks import (
    MAX_URL,
    TOPIC,
    WebhookError,
    add_endpoint,
    disable_endpoint,
    find_endpoint,
    last_messages,
    list_endpoints,
    logged_url,
    topics_of,
)
from consent_center.admin import admin_only, bp
from consent_center.admin.forms import WebhookForm

URL_ERRORS = {
    "url": _l("Give a web address that starts with https://, e.g. https://tool.example.com/hooks/consent."),
    "plain_http": _l("Webhooks go over HTTPS: plain http:// is accepted only to this machine (localhost)."),
    "credentials": _l("Put no user name or password in the address: receivers check the signature instead."),
    "length": _l("The address is longer than %(num)s characters.", num=MAX_URL),
    "local": _l("This address points inside a private network or to this machine: webhooks go only to "
                "public addresses, unless the setting CONSENT_WEBHOOK_ALLOWED_NETWORKS lists that network."),
}


def _render(form: WebhookForm, status: int = 200, created=None):
    endpoints = list_endpoints(db.session)
    return render_template("admin/webhooks.html", form=form, endpoints=endpoints, created=created,
                           last=last_messages(db.session) if endpoints else {}, topic=TOPIC,
                           topics_of=topics_of,
                           action_form=LogoutForm()), status


@bp.get("/webhooks")
@admin_only
def webhooks():
    return _render(WebhookForm())


@bp.post("/webhooks")
@admin_only
def add_webhook():
    form = WebhookForm()
    if not form.validate_on_submit():
        return _render(form, 400)
    try:
        endpoint = add_endpoint(db.session, form.url.data, (form.description.data or "").strip() or None,
                                form.topics.data)
    except WebhookError as error:
        form.url.errors = [URL_ERRORS.get(error.code, URL_ERRORS["url"])]
        return _render(form, 400)
    log_staff_action(db.session, current_user, "webhook.created", f"webhook:{endpoint.public_id}",
                     url=logged_url(endpoint.url), description=endpoint.description, topics=topics_of(endpoint))
    # The secret is on this page and nowhere else: no redirect, and the page is not cached.
    response = _render(WebhookForm(formdata=None), created=endpoint)
    return response[0], 200, {"Cache-Control": "no-store"}


@bp.post("/webhooks/<public_id>/disable")
@admin_only
def disable_webhook(public_id: str):
    form = LogoutForm()  # the CSRF token only
    endpoint = find_endpoint(db.session, public_id)
    if endpoint is None:
        abort(404)
    if not form.validate_on_submit():
        return render_template("web/error.html", code=400, reason="csrf"), 400
    if endpoint.active:
        disable_endpoint(db.session, endpoint.public_id)
        log_staff_action(db.session, current_user, "webhook.disabled", f"webhook:{endpoint.public_id}",
                         url=logged_url(endpoint.url))
    # The flash rides in the session cookie (signed, not encrypted): the address without its secrets.
    flash(_("The webhook %(url)s receives nothing more.", url=logged_url(endpoint.url)), "success")
    return redirect(url_for("admin.webhooks"))
