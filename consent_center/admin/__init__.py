"""The back office: support finds people and records changes; admins run the center."""
from flask import Blueprint

from consent_center.accounts.auth.decorators import roles_required
from consent_center.models import Role

bp = Blueprint("admin", __name__)

# Pages support may use; every other page of the blueprint is the admin's.
SUPPORT_ROLES = (Role.SUPPORT, Role.ADMIN)
admin_only = roles_required(Role.ADMIN)


@bp.before_request
@roles_required(*SUPPORT_ROLES)
def only_staff_who_run_the_center() -> None:
    """Every page of the blueprint, present and future, is for support and admins at least."""


from consent_center.admin import accounts, channels, home, hooks, imports, keys, people, policies, suppression, webhooks  # noqa: E402,F401,E501
