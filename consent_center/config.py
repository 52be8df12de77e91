"""Settings, read once from ``CONSENT_*`` environment variables."""
from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SECRET_KEY = "dev-only-change-me"


def _env(name: str, default: str | None = None) -> str | None:
    return os.environ.get(f"CONSENT_{name}", default)


def _env_bool(name: str, default: bool) -> bool:
    value = _env(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _env_list(name: str) -> list[str]:
    value = _env(name, "") or ""
    return [item.strip() for item in value.split(",") if item.strip()]


def load_settings(instance_path: str) -> dict:
    """Return the app settings from the environment."""
    database_url = _env("DATABASE_URL") or f"sqlite:///{Path(instance_path) / 'consent_center.sqlite3'}"
    settings = {
        "SECRET_KEY": _env("SECRET_KEY", DEFAULT_SECRET_KEY),
        "SECRET_KEY_FALLBACKS": _env_list("SECRET_KEY_FALLBACKS"),
        "DATABASE_URL": database_url,
        "DATABASE_POOL_SIZE": int(_env("DATABASE_POOL_SIZE", "5")),
        "BASE_URL": (_env("BASE_URL", "http://127.0.0.1:5000") or "").rstrip("/"),
        "BABEL_DEFAULT_LOCALE": _env("DEFAULT_LOCALE", "fr"),
        "BABEL_DEFAULT_TIMEZONE": _env("TIMEZONE", "Europe/Paris"),
        "SUPPORTED_LOCALES": ["fr", "nl", "en"],
        "COMPANY_NAME": _env("COMPANY_NAME", "Consent Center"),
        "JURISDICTION": _env("JURISDICTION", "FR"),
        "RATELIMIT_STORAGE_URI": _env("RATELIMIT_STORAGE_URL", "memory://"),
        "RATELIMIT_HEADERS_ENABLED": True,
        "LOGIN_THROTTLE": _env("LOGIN_THROTTLE", "5 per 15 minutes"),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": _env_bool("SECURE_COOKIES", False),
        "REMEMBER_COOKIE_HTTPONLY": True,
        "MAX_CONTENT_LENGTH": int(_env("MAX_CONTENT_LENGTH", str(16 * 1024 * 1024))),
        "WTF_CSRF_TIME_LIMIT": None,
        # The JSON API (api/): bulk bodies may be larger than forms.
        "API_MAX_BODY": int(_env("API_MAX_BODY", str(20 * 1024 * 1024))),
        "API_BULK_LIMIT": int(_env("API_BULK_LIMIT", "100000")),
        "API_KEY_CACHE_SECONDS": float(_env("API_KEY_CACHE_SECONDS", "10")),
        "API_AUTH_FAILURE_LIMIT": _env("API_AUTH_FAILURE_LIMIT", "30 per minute"),
        "API_RATE_LIMIT": _env("API_RATE_LIMIT", "") or "",
        "API_FEED_PAGE_MAX": int(_env("API_FEED_PAGE_MAX", "1000")),
    }
    if _env("DEBUG") is not None:
        settings["DEBUG"] = _env_bool("DEBUG", False)
    return settings


TESTING_OVERRIDES = {
    "TESTING": True,
    "SECRET_KEY": "testing-secret-key",
    "RATELIMIT_STORAGE_URI": "memory://",
    "BASE_URL": "http://localhost",
}
