"""The back office's home page and the staff action log."""
from __future__ import annotations

from flask import render_template, request
from flask_babel import lazy_gettext as _l

from consent_center.extensions import db
from consent_center.accounts.staff_log import recent_actions
from consent_center.admin import admin_only, bp
from consent_center.subjects.list_import import expired_lists
from consent_center.web.paging import before_cursor

LOG_PAGE = 100

# Tiles every staff member of the back office gets: (endpoint, title, description).
STAFF_PAGES = [
    ("admin.rules", _l("Rules in force"), _l("Retention periods, deadlines and notices: their values and sources")),
    ("admin.repermission_campaign", _l("Re-permission campaign"),
     _l("Who was asked whether they still want to hear from us, who answered, who is due")),
]
# The admin's tiles on the home page: (endpoint, title, description).
ADMIN_PAGES = [
    ("admin.accounts", _l("Accounts"), _l("Create staff and customer accounts, disable them")),
    ("admin.keys", _l("API keys"), _l("Keys of the marketing tools: create, revoke")),
    ("admin.webhooks", _l("Webhooks"), _l("Tools told of every consent change: register, disable")),
    ("admin.hooks", _l("Inbound hooks"), _l("Where SMS and e-mail providers post STOPs, bounces, complaints")),
    ("admin.channels", _l("Channels"), _l("Add a channel, set its validity, deactivate one")),
    ("admin.import_form", _l("Import contacts"), _l("Upload a CSV file of contacts and their consents")),
    ("admin.suppression_lists", _l("Suppression lists"),
     _l("National opt-out registers, SMS STOPs, complaints: import a list, see which have expired")),
    ("admin.policies", _l("Policy versions"), _l("Publish a new version of the privacy policy")),
    ("admin.staff_log", _l("Staff action log"), _l("Who did what in the back office, and when")),
]


@bp.get("/")
def index():
    # An expired register no longer applies: until a new extract is imported, its contacts may be called.
    return render_template("admin/index.html", staff_pages=STAFF_PAGES, admin_pages=ADMIN_PAGES,
                           expired_lists=expired_lists(db.session))


@bp.get("/log")
@admin_only
def staff_log():
    before = before_cursor(request.args)
    actions = recent_actions(db.session, limit=LOG_PAGE + 1, before=before)
    more = len(actions) > LOG_PAGE
    actions = actions[:LOG_PAGE]
    return render_template("admin/log.html", actions=actions, next_before=actions[-1].id if more else None)
