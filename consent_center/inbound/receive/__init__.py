"""``POST /hooks/<kind>/<provider>/<hook id>``: where providers post what people answered."""
from flask import Blueprint

from consent_center.extensions import csrf

bp = Blueprint("hooks", __name__)
# Providers' servers post with no cookie and no CSRF token: each request is
# authenticated by its own signature, checked with the hook's secret.
csrf.exempt(bp)

from consent_center.inbound.receive import routes  # noqa: E402,F401
