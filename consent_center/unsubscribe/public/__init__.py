"""Public pages: newsletter sign-up and its confirmation, preferences by e-mailed link."""
from flask import Blueprint

from consent_center.web.boundary import protect_token_pages

bp = Blueprint("public", __name__)
bp.after_request(protect_token_pages)

from consent_center.unsubscribe.public import routes  # noqa: E402,F401
