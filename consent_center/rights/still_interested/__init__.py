"""The page a re-permission e-mail links to: "do you still want to hear from us?", with one clear yes."""
from flask import Blueprint

from consent_center.web.boundary import protect_token_pages

bp = Blueprint("still_interested", __name__)
bp.after_request(protect_token_pages)

from consent_center.rights.still_interested import routes  # noqa: E402,F401
