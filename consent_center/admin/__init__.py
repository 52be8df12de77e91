"""The back office: support finds people and records changes; admins run the center."""
from flask import Blueprint, current_app, request

from consent_center.accounts.auth.decorators import roles_required
from consent_center.models import Role
from consent_center.models.vocabulary import STAFF_ROLES

bp = Blueprint("admin", __name__)

# Pages support may use; every other page of the blueprint is the admin's, but for those marked every_staff_role.
SUPPORT_ROLES = (Role.SUPPORT, Role.ADMIN)
admin_only = roles_required(Role.ADMIN)


def every_staff_role(view):
    """Open one read-only page of the blueprint to auditors as well as support and admins."""
    # The law the center applies and what it did under it: an auditor checks both.
    view.read_by_every_staff_role = True
    return view


@roles_required(*SUPPORT_ROLES)
def _support_or_admin() -> None:
    pass


@roles_required(*STAFF_ROLES)
def _any_staff() -> None:
    pass


@bp.before_request
def only_staff_who_run_the_center():
    """Every page of the blueprint, present and future, is for support and admins at least.

    Only a page marked ``every_staff_role`` lets an auditor in; nothing opens any page to a customer.
    """
    view = current_app.view_functions.get(request.endpoint or "")
    return _any_staff() if getattr(view, "read_by_every_staff_role", False) else _support_or_admin()


from consent_center.admin import (accounts, channels, home, hooks, imports, keys, people, policies,  # noqa: E402,F401
                                  repermission, rules, suppression, webhooks)
