"""Limits shared by the public forms that send e-mail (Flask-Limiter).

Two limits on each: per network address (``CONSENT_PUBLIC_RATE_LIMIT``)
against one machine hammering a form, and per e-mail address typed
(``CONSENT_ADDRESS_RATE_LIMIT``) so nobody can use the center to flood
an inbox. The per-address limit counts known and unknown addresses alike,
so a 429 tells nothing about who is known.
"""
from __future__ import annotations

import hashlib
from typing import Callable

from flask import Flask, current_app, request
from flask_limiter import Limiter


def public_limit() -> str:
    return current_app.config["PUBLIC_RATE_LIMIT"]


def address_limit() -> str:
    return current_app.config["ADDRESS_RATE_LIMIT"]


def address_key() -> str:
    # Hashed: the rate-limit store (Redis) holds no e-mail address.
    typed = (request.form.get("email") or "").strip().lower()[:320]
    return "address:" + hashlib.sha256(typed.encode()).hexdigest()[:32]


def spare_the_api(app: Flask, limiter: Limiter, is_api_path: Callable[[str], bool]) -> None:
    """Keep Flask-Limiter's per-request hooks off the API's requests.

    The API is exempt (it limits per key in api/auth.py), but Flask-Limiter
    finds that out only after resolving the endpoint's limits and exemption
    scopes, then sets up and tears down its request context for nothing:
    about a fifth of a consent check's time. Nothing to do when the limiter
    is off (``RATELIMIT_ENABLED``: no hooks), or if a Flask-Limiter upgrade
    renamed them (tests/test_hot_paths.py would say so).
    """
    def is_limiter_hook(hook, name: str) -> bool:
        func, owner = getattr(hook, "func", hook), getattr(hook, "args", (None,))[:1]
        bound = getattr(hook, "__self__", None)
        return getattr(func, "__name__", "").endswith(name) and limiter in (bound, *owner)

    before = app.before_request_funcs.setdefault(None, [])
    for position, hook in enumerate(before):
        if is_limiter_hook(hook, "_check_request_limit"):
            before[position] = _unless_api(hook, is_api_path, lambda: None)
    after = app.after_request_funcs.setdefault(None, [])
    for position, hook in enumerate(after):
        if is_limiter_hook(hook, "__inject_headers"):
            after[position] = _unless_api(hook, is_api_path, lambda response: response)
    teardown = app.teardown_request_funcs.setdefault(None, [])
    for position, hook in enumerate(teardown):
        if is_limiter_hook(hook, "__release_context"):
            teardown[position] = _unless_api(hook, is_api_path, lambda exc=None: None)


def _unless_api(hook: Callable, is_api_path: Callable[[str], bool], instead: Callable) -> Callable:
    def hook_unless_api(*args):
        return (instead if is_api_path(request.path) else hook)(*args)

    hook_unless_api.__name__ = f"{getattr(hook, '__name__', 'limiter_hook')}_unless_api"
    return hook_unless_api
