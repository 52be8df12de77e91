"""Limits shared by the public forms that send e-mail (Flask-Limiter).

Two limits on each: per network address (``CONSENT_PUBLIC_RATE_LIMIT``)
against one machine hammering a form, and per e-mail address typed
(``CONSENT_ADDRESS_RATE_LIMIT``) so nobody can use the center to flood
an inbox. The per-address limit counts known and unknown addresses alike,
so a 429 tells nothing about who is known.
"""
from __future__ import annotations

import hashlib

from flask import current_app, request


def public_limit() -> str:
    return current_app.config["PUBLIC_RATE_LIMIT"]


def address_limit() -> str:
    return current_app.config["ADDRESS_RATE_LIMIT"]


def address_key() -> str:
    # Hashed: the rate-limit store (Redis) holds no e-mail address.
    typed = (request.form.get("email") or "").strip().lower()[:320]
    return "address:" + hashlib.sha256(typed.encode()).hexdigest()[:32]
