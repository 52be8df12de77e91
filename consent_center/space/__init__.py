from flask import Blueprint

bp = Blueprint("space", __name__)

from . import routes  # noqa: E402,F401
from . import reconsent_routes  # noqa: E402,F401
