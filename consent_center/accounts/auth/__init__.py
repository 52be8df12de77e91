from flask import Blueprint

bp = Blueprint("auth", __name__)

from consent_center.accounts.auth import password_routes, routes, second_factor_routes  # noqa: E402,F401  (routes attach themselves to bp)
