"""The one-click unsubscribe pages under /u/ (RFC 8058)."""
from flask import Blueprint

from consent_center.extensions import csrf
from consent_center.web.boundary import protect_token_pages

bp = Blueprint("unsubscribe", __name__)
# RFC 8058 one-click POSTs come from mail providers' servers with no cookie
# and no CSRF token: the signed token in the URL is the only authority here
# (see routes.py for how the page's own buttons are still protected).
csrf.exempt(bp)
bp.after_request(protect_token_pages)

from consent_center.unsubscribe.one_click import routes  # noqa: E402,F401
