"""API keys from the back office (admins): create (shown once), revoke."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from consent_center.accounts.api_clients import (
    ApiClientError,
    create_client,
    find_client,
    list_clients,
    revoke_client,
)
from consent_center.accounts.auth.forms import LogoutForm
from consent_center.extensions import db
from consent_center.accounts.staff_log import log_staff_action
from consent_center.admin import admin_only, bp
from consent_center.admin.forms import ApiKeyForm


def _render(form: ApiKeyForm, status: int = 200, issued=None):
    return render_template("admin/keys.html", form=form, clients=list_clients(db.session), issued=issued,
                           action_form=LogoutForm()), status


@bp.get("/keys")
@admin_only
def keys():
    return _render(ApiKeyForm())


@bp.post("/keys")
@admin_only
def create_key():
    form = ApiKeyForm()
    if not form.validate_on_submit():
        return _render(form, 400)
    try:
        issued = create_client(db.session, form.name.data, list(form.scopes.data))
    except ApiClientError:
        form.name.errors = [_("This key cannot be created.")]
        return _render(form, 400)
    log_staff_action(db.session, current_user, "api_key.created", f"api_client:{issued.client.id}",
                     name=issued.client.name, prefix=issued.client.key_prefix, scopes=issued.client.scopes)
    # The key is on this page and nowhere else: no redirect, and the page is not cached.
    response = _render(ApiKeyForm(formdata=None), issued=issued)
    return response[0], 200, {"Cache-Control": "no-store"}


@bp.post("/keys/<int(max=2147483647):client_id>/revoke")
@admin_only
def revoke_key(client_id: int):
    form = LogoutForm()  # the CSRF token only
    client = find_client(db.session, str(client_id))
    if client is None:
        abort(404)
    if not form.validate_on_submit():
        return render_template("web/error.html", code=400, reason="csrf"), 400
    if client.active:
        revoke_client(db.session, str(client.id))
        log_staff_action(db.session, current_user, "api_key.revoked", f"api_client:{client.id}",
                         name=client.name, prefix=client.key_prefix)
    flash(_("The key %(prefix)s… is revoked.", prefix=client.key_prefix), "success")
    return redirect(url_for("admin.keys"))
