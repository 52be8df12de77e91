"""The one-click unsubscribe pages under /u/ (RFC 8058)."""
from flask import Blueprint

from ..extensions import csrf
from ..web import protect_token_pages

bp = Blueprint("unsubscribe", __name__)
# RFC 8058 one-click POSTs come from mail providers' servers with no cookie
# and no CSRF token: the signed token in the URL is the only authority here
# (see routes.py for how the page's own buttons are still protected).
csrf.exempt(bp)
bp.after_request(protect_token_pages)

from . import routes  # noqa: E402,F401
