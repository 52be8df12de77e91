"""/admin/requests: the staff queue of data-subject rights requests."""
from flask import Blueprint

bp = Blueprint("requests_desk", __name__)

from consent_center.rights.desk import routes  # noqa: E402,F401
