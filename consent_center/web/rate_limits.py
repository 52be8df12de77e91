"""Limits shared by the public forms that send e-mail (Flask-Limiter).

Two limits on each: per network address (``CONSENT_PUBLIC_RATE_LIMIT``)
against one machine hammering a form, and per e-mail address typed
(``CONSENT_ADDRESS_RATE_LIMIT``) so nobody can use the center to flood
an inbox. The per-address limit counts known and unknown addresses alike,
so a 429 tells nothing about who is known.

An address is counted in its one normalised form (``addresses.normalise_email``),
so its spellings (``BOB@ｅxample.org``) share one count; text that is not an
address, in its NFKC case-folded form.
"""
from __future__ import annotations

import hashlib
import sys
import logging
import unicodedata

from flask import Flask, current_app, request

from consent_center.addresses import AddressError, normalise_email

log = logging.getLogger(__name__)
_warned_memory_store = False


def public_limit() -> str:
    return current_app.config["PUBLIC_RATE_LIMIT"]


def address_limit() -> str:
    return current_app.config["ADDRESS_RATE_LIMIT"]


def address_key() -> str:
    return "address:" + typed_address_key()


def typed_address_key() -> str:
    """The key of the address typed in the form's ``email`` field, one for all its spellings.

    Hashed: the rate-limit store (Redis) holds no e-mail address.
    """
    typed = (request.form.get("email") or "")[:1024]  # the forms refuse more than 320 characters anyway
    try:
        one = normalise_email(typed)
    except AddressError:
        one = unicodedata.normalize("NFKC", typed).strip().casefold()
    return hashlib.sha256(one.encode()).hexdigest()[:32]


def warn_if_counted_per_process(app: Flask) -> None:
    """Say once per process that the default store counts in each worker process alone.

    With ``memory://`` each gunicorn worker keeps its own counts, so N workers
    allow N times every limit (the login throttle too). Silent in debug and
    testing, where one process serves, and outside gunicorn: a ``flask``
    command or the development server is one process.
    """
    global _warned_memory_store
    if _warned_memory_store or app.debug or app.testing or "gunicorn" not in sys.modules:
        return
    if not str(app.config.get("RATELIMIT_STORAGE_URI", "")).startswith("memory://"):
        return
    _warned_memory_store = True
    log.warning("CONSENT_RATELIMIT_STORAGE_URL is memory://: each worker process counts rate limits and the "
                "login throttle alone, so several workers allow several times each limit; set it to a Redis "
                "URL (redis://…) shared by all workers")
