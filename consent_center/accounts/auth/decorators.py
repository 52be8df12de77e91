"""Access rules for views, shared by every blueprint."""
from __future__ import annotations

from functools import wraps

from flask import abort
from flask_login import current_user

from consent_center.extensions import login_manager


def roles_required(*roles: str):
    """Let only accounts with one of ``roles`` in: anonymous visitors go to login, others get 403."""
    allowed = frozenset(str(role) for role in roles)

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if current_user.role not in allowed:
                abort(403)
            return view(*args, **kwargs)
        return wrapped
    return decorator
