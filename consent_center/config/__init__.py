"""Settings, read once from ``CONSENT_*`` environment variables."""
from __future__ import annotations

import ipaddress
import os
import sys
from datetime import timedelta
from pathlib import Path

import click

from consent_center.config.jurisdictions import DEFAULT_JURISDICTION, Rule, checked_jurisdiction, resolve

PACKAGE_DIR = Path(__file__).resolve().parent.parent
# The checkout the code runs from (for an installed wheel: site-packages, which holds no project files).
PROJECT_ROOT = PACKAGE_DIR.parent
DEFAULT_SECRET_KEY = "dev-only-change-me"
# Outside debug and testing, CONSENT_SECRET_KEY must be at least this long (create_app checks it).
SECRET_KEY_MIN_LENGTH = 32


class SecretKeyError(click.ClickException, RuntimeError):
    """``CONSENT_SECRET_KEY`` cannot sign: the app refuses to start.

    A click error too, so that the ``flask`` command line says it in one line
    (``Error: …``, exit 1) instead of a traceback.
    """


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


def _env_int(name: str, default: int, minimum: int = 1) -> int:
    value = _env(name)
    if value is None or not value.strip():
        return default
    try:
        number = int(value)
    except ValueError:
        raise RuntimeError(f"CONSENT_{name} must be a whole number, not {value!r}") from None
    if number < minimum:
        raise RuntimeError(f"CONSENT_{name} must be at least {minimum}")
    return number


def _env_networks(name: str) -> list[str]:
    networks = []
    for item in _env_list(name):
        try:
            networks.append(str(ipaddress.ip_network(item, strict=False)))
        except ValueError:
            raise RuntimeError(f"CONSENT_{name} lists networks such as 10.0.0.0/8, not {item!r}") from None
    return networks


# SMS keywords per language (inbound/keywords.py): each replaced by CONSENT_SMS_STOP_WORDS_FR and
# the like, comma-separated. Stop words are those the issue and the French "STOP au 36xxx" expect.
SMS_STOP_WORDS = {
    "fr": ("STOP", "STOP SMS", "ARRET", "ARRÊT"),
    "nl": ("STOP", "STOPPEN", "AFMELDEN"),
    "en": ("STOP", "UNSUBSCRIBE", "END", "QUIT", "CANCEL"),
}
# Stop terms count anywhere in a text, as whole words; a final * makes a stem (ARRET* is arrêtez, arrêter).
SMS_STOP_TERMS = {
    "fr": ("STOP", "STOPP*", "ARRET*", "DESABONN*", "DESINSCRI*", "NE PLUS M ENVOYER", "NE PLUS RECEVOIR",
           "NE M ENVOYEZ PLUS"),
    "nl": ("STOP", "STOPP*", "AFMELD*", "UITSCHRIJV*", "GEEN SMS MEER"),
    "en": ("STOP", "STOPALL", "UNSUBSCRIB*", "OPTOUT", "OPT OUT"),
}
SMS_START_WORDS = {
    "fr": ("START", "REPRENDRE"),
    "nl": ("START", "AANMELDEN"),
    "en": ("START", "UNSTOP"),
}


def bundled(name: str) -> Path:
    """The folder ``templates``, ``static`` or ``migrations``, wherever the code runs from.

    The repository keeps them at its top; a wheel carries them inside the
    package (setup.py maps them there), so an installed copy finds its own.
    """
    inside = PACKAGE_DIR / name
    return inside if inside.is_dir() else PROJECT_ROOT / name


def installed() -> bool:
    """True for a copy installed from a wheel (its templates inside the package), not a checkout."""
    return (PACKAGE_DIR / "templates").is_dir()


def instance_folder() -> Path:
    """Where the app keeps its files (SQLite base, keys, outbox, proofs): ``CONSENT_INSTANCE_PATH``.

    By default ``instance/`` of the checkout; for an installed copy, Flask's
    place for an installed package, ``<environment>/var/consent_center-instance``
    (never site-packages).
    """
    explicit = (_env("INSTANCE_PATH") or "").strip()
    if explicit:
        return Path(explicit).expanduser().resolve()
    if installed():
        return Path(sys.prefix) / "var" / "consent_center-instance"
    return PROJECT_ROOT / "instance"


def load_settings(instance_path: str) -> dict:
    """Return the app settings from the environment."""
    database_url = _env("DATABASE_URL") or f"sqlite:///{Path(instance_path) / 'consent_center.sqlite3'}"
    settings = {
        "SECRET_KEY": _env("SECRET_KEY", DEFAULT_SECRET_KEY),
        "SECRET_KEY_FALLBACKS": _env_list("SECRET_KEY_FALLBACKS"),
        "DATABASE_URL": database_url,
        "DATABASE_POOL_SIZE": int(_env("DATABASE_POOL_SIZE", "5")),
        # "transaction" when the database URLs lead to a pooler in transaction mode (PgBouncer): see extensions.py.
        "DATABASE_POOLER": _database_pooler(),
        "BASE_URL": (_env("BASE_URL", "http://127.0.0.1:5000") or "").rstrip("/"),
        "BABEL_DEFAULT_LOCALE": _env("DEFAULT_LOCALE", "fr"),
        "BABEL_DEFAULT_TIMEZONE": _env("TIMEZONE", "Europe/Paris"),
        "SUPPORTED_LOCALES": ["fr", "nl", "en"],
        "COMPANY_NAME": _env("COMPANY_NAME", "Consent Center"),
        # The company's colours (branding.py checks them and serves /brand.css).
        "BRAND_COLOUR": _env("BRAND_COLOUR", "#0b5cad"),
        "BRAND_TEXT_COLOUR": _env("BRAND_TEXT_COLOUR", "#ffffff"),
        # The company's logo beside its name in the header: a file, relative to instance/ (web/icons.py).
        "LOGO": _env("LOGO") or None,
        "CONTROLLER_CONTACT": _env("CONTROLLER_CONTACT"),
        "CONTROLLER_ADDRESS": _env("CONTROLLER_ADDRESS"),
        "CONTROLLER_EMAIL": _env("CONTROLLER_EMAIL"),
        "CONTROLLER_PHONE": _env("CONTROLLER_PHONE"),
        "RECEIPT_SIGNING_KEY": _env("RECEIPT_SIGNING_KEY"),
        "RECEIPT_KEY_DIR": _env("RECEIPT_KEY_DIR"),
        # The transparency log: its checkpoint key (as the receipt key), how often it signs, its name.
        "CHECKPOINT_SIGNING_KEY": _env("CHECKPOINT_SIGNING_KEY"),
        "CHECKPOINT_KEY_DIR": _env("CHECKPOINT_KEY_DIR"),
        "CHECKPOINT_SECONDS": _env_int("CHECKPOINT_SECONDS", 60, minimum=0),
        "CHECKPOINT_ORIGIN": _env("CHECKPOINT_ORIGIN"),
        "RATELIMIT_STORAGE_URI": _env("RATELIMIT_STORAGE_URL", "memory://"),
        "RATELIMIT_HEADERS_ENABLED": True,
        # Said every time: Flask-Limiter's instance is shared, and without the
        # key an app inherits whatever the previous app in the process set.
        "RATELIMIT_ENABLED": True,
        "LOGIN_THROTTLE": _env("LOGIN_THROTTLE", "5 per 15 minutes"),
        # How many reverse proxies in front of the app append X-Forwarded-For and set
        # X-Forwarded-Proto (0: none; the connecting address is the visitor's). Never more
        # than there are: a visitor could then choose the address limits and traces see.
        "TRUSTED_PROXIES": _env_int("TRUSTED_PROXIES", 0, minimum=0),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": _secure_cookies(),
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SECURE": _secure_cookies(),
        "MAX_CONTENT_LENGTH": int(_env("MAX_CONTENT_LENGTH", str(16 * 1024 * 1024))),
        "WTF_CSRF_TIME_LIMIT": None,
        "SESSION_IDLE_TIMEOUT": timedelta(minutes=int(_env("SESSION_IDLE_MINUTES", "30"))),
        "SESSION_ABSOLUTE_TIMEOUT": timedelta(hours=int(_env("SESSION_ABSOLUTE_HOURS", "12"))),
        "PERMANENT_SESSION_LIFETIME": timedelta(hours=int(_env("SESSION_ABSOLUTE_HOURS", "12"))),
        # Rate limits of the public pages (Flask-Limiter syntax).
        "PUBLIC_RATE_LIMIT": _env("PUBLIC_RATE_LIMIT", "20 per hour"),
        "ADDRESS_RATE_LIMIT": _env("ADDRESS_RATE_LIMIT", "3 per hour"),
        "UNSUBSCRIBE_RATE_LIMIT": _env("UNSUBSCRIBE_RATE_LIMIT", "120 per minute"),
        "UNSUBSCRIBE_TOKEN_RATE_LIMIT": _env("UNSUBSCRIBE_TOKEN_RATE_LIMIT", "20 per hour"),
        # Token ages (tokens.PURPOSES reads these keys).
        "UNSUBSCRIBE_TOKEN_MAX_AGE": timedelta(days=_env_int("UNSUBSCRIBE_TOKEN_DAYS", 730)),
        "DOUBLE_OPT_IN_TOKEN_MAX_AGE": timedelta(days=_env_int("DOUBLE_OPT_IN_TOKEN_DAYS", 7)),
        "INVITATION_TOKEN_MAX_AGE": timedelta(days=_env_int("INVITATION_TOKEN_DAYS", 14)),
        "PASSWORD_RESET_TOKEN_MAX_AGE": timedelta(minutes=_env_int("PASSWORD_RESET_TOKEN_MINUTES", 120)),
        "EMAIL_CHANGE_TOKEN_MAX_AGE": timedelta(hours=_env_int("EMAIL_CHANGE_TOKEN_HOURS", 48)),
        "MANAGE_LINK_TOKEN_MAX_AGE": timedelta(hours=_env_int("MANAGE_LINK_TOKEN_HOURS", 48)),
        # Mail: SMTP in production, .eml files under instance/outbox/ otherwise.
        "MAIL_FROM": _env("MAIL_FROM", "Consent Center <no-reply@localhost>"),
        "SMTP_HOST": _env("SMTP_HOST", "") or "",
        "SMTP_PORT": _env_int("SMTP_PORT", 587),
        "SMTP_USERNAME": _env("SMTP_USERNAME", "") or "",
        "SMTP_PASSWORD": _env("SMTP_PASSWORD", "") or "",
        "SMTP_STARTTLS": _env_bool("SMTP_STARTTLS", True),
        "SMTP_TIMEOUT": _env_int("SMTP_TIMEOUT", 30),
        # The outbox worker: attempts before a message is dead, first retry delay.
        "OUTBOX_MAX_ATTEMPTS": _env_int("OUTBOX_MAX_ATTEMPTS", 10),
        "OUTBOX_RETRY_SECONDS": _env_int("OUTBOX_RETRY_SECONDS", 60),
        # Webhooks go to public addresses only, and to these networks (comma-separated CIDRs,
        # e.g. 127.0.0.0/8 for a receiver on this machine): outbox/destinations.py.
        "WEBHOOK_ALLOWED_NETWORKS": _env_networks("WEBHOOK_ALLOWED_NETWORKS"),
        # Witnesses (outbox/witnesses.py): each signed checkpoint of the log is e-mailed to these
        # addresses (comma-separated: the DPO, an auditor), checked at start.
        "WITNESS_EMAILS": _env_list("WITNESS_EMAILS"),
        # The JSON API (api/): bulk bodies may be larger than forms.
        "API_MAX_BODY": int(_env("API_MAX_BODY", str(20 * 1024 * 1024))),
        "API_BULK_LIMIT": int(_env("API_BULK_LIMIT", "100000")),
        "API_KEY_CACHE_SECONDS": float(_env("API_KEY_CACHE_SECONDS", "10")),
        "API_AUTH_FAILURE_LIMIT": _env("API_AUTH_FAILURE_LIMIT", "30 per minute"),
        "API_RATE_LIMIT": _env("API_RATE_LIMIT", "") or "",
        "API_FEED_PAGE_MAX": int(_env("API_FEED_PAGE_MAX", "1000")),
        # PostgreSQL hot standbys that serve the checks, the feed and the exports (db/replicas.py),
        # comma-separated, and how stale one may be without a consistency token.
        "READ_DATABASE_URLS": _env_list("READ_DATABASE_URL"),
        "READ_MAX_LAG_MS": _env_int("READ_MAX_LAG_MS", 200),
        # Inbound hooks (inbound/, docs/integration-sms.md): correctly signed requests per hook, failed
        # authentications per client address, the replay window of signed timestamps, the largest body,
        # the SMS stop and start words.
        "HOOK_RATE_LIMIT": _env("HOOK_RATE_LIMIT", "600 per minute"),
        "HOOK_AUTH_FAILURE_LIMIT": _env("HOOK_AUTH_FAILURE_LIMIT", "30 per minute"),
        "HOOK_TOLERANCE_SECONDS": _env_int("HOOK_TOLERANCE_SECONDS", 300),
        "HOOK_MAX_BODY": _env_int("HOOK_MAX_BODY", 1024 * 1024),
        "SMS_STOP_WORDS": {lang: tuple(_env_list(f"SMS_STOP_WORDS_{lang.upper()}")) or words
                           for lang, words in SMS_STOP_WORDS.items()},
        "SMS_START_WORDS": {lang: tuple(_env_list(f"SMS_START_WORDS_{lang.upper()}")) or words
                            for lang, words in SMS_START_WORDS.items()},
        "SMS_STOP_TERMS": {lang: tuple(_env_list(f"SMS_STOP_TERMS_{lang.upper()}")) or words
                           for lang, words in SMS_STOP_TERMS.items()},
        "SMS_STOP_MAX_WORDS": _env_int("SMS_STOP_MAX_WORDS", 6),
        # Amazon SES through SNS (inbound/providers/email_ses.py): the certificate(s) SNS signs with,
        # pinned (PEM text or a PEM file's path); without one, fetched from a checked SigningCertURL
        # unless fetching is off (a server without internet access).
        "SNS_CERTIFICATE": _env("SNS_CERTIFICATE", "") or "",
        "SNS_FETCH_CERTIFICATES": _env_bool("SNS_FETCH_CERTIFICATES", True),
        # The back office: largest proof file staff may attach to a change.
        "PROOF_MAX_BYTES": _env_int("PROOF_MAX_BYTES", 5 * 1024 * 1024),
        # `consent expire`: how many days before a grant lapses its reminder goes out.
        "EXPIRY_REMINDER_DAYS": _env_int("EXPIRY_REMINDER_DAYS", 30),
        # GDPR art. 18(3): how long before lifting a restriction the person is told.
        "RESTRICTION_LIFT_NOTICE_DAYS": _env_int("RESTRICTION_LIFT_NOTICE_DAYS", 14, minimum=1),
        # The check API: on a channel that requires re-consent, a grant not renewed under a
        # material policy version stops counting this many days after that version's date.
        "RECONSENT_GRACE_DAYS": _env_int("RECONSENT_GRACE_DAYS", 30),
        # The suppression list's salt (suppression.py). Retention and request deadlines are
        # the jurisdiction's legal rules, resolved below (config/jurisdictions.py).
        "SUPPRESSION_SALT": _env("SUPPRESSION_SALT", "") or "",
        # Soft bounces in a row that mark an address undeliverable (subjects/deliverability.py).
        "SOFT_BOUNCE_LIMIT": _env_int("SOFT_BOUNCE_LIMIT", 3),
        # Password hashing (argon2id): the cost of each new hash. The defaults are argon2-cffi's
        # (RFC 9106's low-memory profile). Each hash records its own parameters, so hashes made
        # with other ones still verify, and are redone with these at the next successful login.
        "ARGON2_TIME_COST": _env_int("ARGON2_TIME_COST", 3),
        "ARGON2_MEMORY_COST": _env_int("ARGON2_MEMORY_COST", 65536, minimum=8),
        "ARGON2_PARALLELISM": _env_int("ARGON2_PARALLELISM", 4),
    }
    settings.update(legal_rules())
    if settings["ARGON2_MEMORY_COST"] < 8 * settings["ARGON2_PARALLELISM"]:
        raise RuntimeError("CONSENT_ARGON2_MEMORY_COST must be at least 8 KiB per lane (CONSENT_ARGON2_PARALLELISM)")
    if _env("DEBUG") is not None:
        settings["DEBUG"] = _env_bool("DEBUG", False)
    settings["MAIL_BACKEND"] = _mail_backend(settings)
    return settings


def legal_rules(jurisdiction: str | None = None) -> dict:
    """``JURISDICTION`` and each time-dependent legal rule's value: its preset, or its own setting."""
    jurisdiction = jurisdiction or _env("JURISDICTION", DEFAULT_JURISDICTION) or DEFAULT_JURISDICTION

    def override(rule: Rule) -> int | None:
        given = _env(rule.key)
        return _env_int(rule.key, 0, minimum=rule.minimum) if given is not None and given.strip() else None

    return {"JURISDICTION": checked_jurisdiction(jurisdiction), **resolve(jurisdiction, override)}


def _secure_cookies() -> bool:
    """CONSENT_SECURE_COOKIES when set; otherwise on when CONSENT_BASE_URL is https."""
    return _env_bool("SECURE_COOKIES", (_env("BASE_URL") or "").strip().lower().startswith("https://"))


POOLERS = ("none", "transaction")


def _database_pooler() -> str:
    chosen = (_env("DATABASE_POOLER") or "none").strip().lower()
    if chosen not in POOLERS:
        raise RuntimeError(f"CONSENT_DATABASE_POOLER is none or transaction, not {chosen!r}")
    return chosen


def _mail_backend(settings: dict) -> str:
    """SMTP when asked, or when a host is set outside debug; files otherwise."""
    chosen = (_env("MAIL_BACKEND") or "").strip().lower()
    if chosen:
        if chosen not in {"smtp", "files"}:
            raise RuntimeError(f"CONSENT_MAIL_BACKEND is smtp or files, not {chosen!r}")
        return chosen
    if settings.get("DEBUG") or not settings["SMTP_HOST"]:
        return "files"
    return "smtp"


TESTING_OVERRIDES = {
    "TESTING": True,
    "SECRET_KEY": "testing-secret-key",
    "RATELIMIT_STORAGE_URI": "memory://",
    "BASE_URL": "http://localhost",
    "MAIL_BACKEND": "files",
    # The cheapest argon2 allowed: tests hash and check hundreds of passwords; what a
    # hash proves does not depend on its cost (a test checks the production defaults).
    "ARGON2_TIME_COST": 1,
    "ARGON2_MEMORY_COST": 8,
    "ARGON2_PARALLELISM": 1,
    # The webhook tests' receivers listen on 127.0.0.1.
    "WEBHOOK_ALLOWED_NETWORKS": ["127.0.0.0/8"],
}
