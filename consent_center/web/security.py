"""Web hardening on every response, and session lifetimes."""
from __future__ import annotations

from datetime import timedelta

from flask import Flask, Response, current_app, request, session
from flask_login import current_user, logout_user

from consent_center.clock import utcnow

CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])


EVERY_RESPONSE = (
    ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "same-origin"),
    ("Permissions-Policy", "camera=(), microphone=(), geolocation=(), interest-cohort=()"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
)
HSTS = ("Strict-Transport-Security", "max-age=63072000; includeSubDomains")


def apply_security_headers(response: Response) -> Response:
    """Set the headers every response carries (pages set their own Referrer-Policy first)."""
    headers = response.headers
    # One pass over the headers already set, not one lookup per header: this
    # runs on every consent check.
    present = {name.lower() for name, _ in headers.items()}
    missing = [(name, value) for name, value in EVERY_RESPONSE if name.lower() not in present]
    current = request._get_current_object()
    if current.is_secure and HSTS[0].lower() not in present:
        missing.append(HSTS)
    headers.extend(missing)
    if not _is_api(current.path) and current_user and current_user.is_authenticated:
        # Personal pages are never stored by shared caches or the back button.
        headers.setdefault("Cache-Control", "no-store")
    return response


def _is_api(path: str) -> bool:
    # The API never uses the session or the login cookie (api/): loading a
    # user there would only slow the hot path down.
    return path.startswith("/api/")


def enforce_session_lifetime() -> None:
    """Log out a session idle too long or older than the absolute limit."""
    if _is_api(request.path) or not current_user or not current_user.is_authenticated:
        return
    now = int(utcnow().timestamp())
    config = current_app.config
    started = session.setdefault("started_at", now)
    last_seen = session.get("last_seen_at", now)
    idle = timedelta(seconds=now - last_seen)
    age = timedelta(seconds=now - started)
    if idle > config["SESSION_IDLE_TIMEOUT"] or age > config["SESSION_ABSOLUTE_TIMEOUT"]:
        logout_user()
        session.clear()
        return
    # Refresh at most once a minute: every refresh rewrites the cookie.
    if now - last_seen >= 60 or "last_seen_at" not in session:
        session["last_seen_at"] = now


def register(app: Flask) -> None:
    app.before_request(enforce_session_lifetime)
    app.after_request(apply_security_headers)
