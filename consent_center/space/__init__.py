from flask import Blueprint

bp = Blueprint("space", __name__)

from consent_center.space import (  # noqa: E402,F401
    data_routes, profile_routes, reconsent_routes, renewal_routes, requests_routes, routes, stop_all_routes,
)
