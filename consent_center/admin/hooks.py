"""Inbound hooks from the back office (admins): create one (URL and secret shown once), revoke one."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from consent_center.accounts.auth.forms import LogoutForm
from consent_center.accounts.staff_log import log_staff_action
from consent_center.admin import admin_only, bp
from consent_center.admin.forms import HookForm
from consent_center.extensions import db
from consent_center.inbound.hooks import HookSetupError, create_hook, find_hook, list_hooks, revoke_hook, url_of
from consent_center.inbound.providers import all_providers, provider_for
from consent_center.web.typography import colon

SETUP_ERRORS = {
    "secret_needed": _l("This provider signs with a secret of its own: paste it (for Twilio, the account's auth "
                        "token)."),
    "secret": _l("This secret cannot be used with this provider."),
}


def _form() -> HookForm:
    form = HookForm()
    form.provider.choices = [(f"{p.kind}/{p.name}", f"{colon(p.kind.upper())} {p.title}") for p in all_providers()]
    return form


def _render(form: HookForm, status: int = 200, created=None):
    hooks = list_hooks(db.session)
    return render_template("admin/hooks.html", form=form, hooks=hooks, created=created, url_of=url_of,
                           title_of=lambda h: getattr(provider_for(h.kind, h.provider), "title", h.provider),
                           action_form=LogoutForm()), status


@bp.get("/hooks")
@admin_only
def hooks():
    return _render(_form())


@bp.post("/hooks")
@admin_only
def add_hook():
    form = _form()
    if not form.validate_on_submit():
        return _render(form, 400)
    kind, _slash, provider = form.provider.data.partition("/")
    try:
        created = create_hook(db.session, kind, provider, form.name.data, form.secret.data)
    except HookSetupError as error:
        form.secret.errors = [SETUP_ERRORS.get(error.code, SETUP_ERRORS["secret"])]
        return _render(form, 400)
    hook = created.hook
    log_staff_action(db.session, current_user, "hook.created", f"hook:{hook.public_id}", kind=hook.kind,
                     provider=hook.provider, name=hook.name)
    # The secret is on this page and nowhere else: no redirect, and the page is not cached.
    fresh = _form()
    fresh.process(formdata=None)
    response = _render(fresh, created=created)
    return response[0], 200, {"Cache-Control": "no-store"}


@bp.post("/hooks/<public_id>/revoke")
@admin_only
def revoke_hook_view(public_id: str):
    form = LogoutForm()  # the CSRF token only
    hook = find_hook(db.session, public_id)
    if hook is None:
        abort(404)
    if not form.validate_on_submit():
        return render_template("web/error.html", code=400, reason="csrf"), 400
    hook, was_active = revoke_hook(db.session, public_id)
    if was_active:
        log_staff_action(db.session, current_user, "hook.revoked", f"hook:{hook.public_id}", kind=hook.kind,
                         provider=hook.provider, name=hook.name)
    flash(_("The hook %(id)s accepts nothing more.", id=hook.public_id), "success")
    return redirect(url_for("admin.hooks"))
