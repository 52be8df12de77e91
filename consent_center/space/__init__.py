from flask import Blueprint

bp = Blueprint("space", __name__)

from consent_center.space import data_routes, profile_routes, reconsent_routes, requests_routes, routes  # noqa: E402,F401
