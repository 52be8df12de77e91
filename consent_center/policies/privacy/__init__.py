from flask import Blueprint

bp = Blueprint("privacy", __name__)

from consent_center.policies.privacy import routes  # noqa: E402,F401
