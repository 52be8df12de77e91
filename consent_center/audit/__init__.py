from flask import Blueprint

from consent_center.accounts.auth.decorators import roles_required
from consent_center.models import Role

bp = Blueprint("audit", __name__)


@bp.before_request
@roles_required(Role.AUDITOR, Role.ADMIN)
def only_auditors_and_admins() -> None:
    """Every page of the blueprint, present and future, is for auditors and admins."""


from consent_center.audit import routes  # noqa: E402,F401
