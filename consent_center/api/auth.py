"""Bearer API keys and their scopes.

``Authorization: Bearer <key>``; no key or a wrong one is 401, a key
without the endpoint's scope 403. The key's SHA-256 is compared with
``hmac.compare_digest``.

The consent check is the hot path, so a valid key is remembered by each
process for ``CONSENT_API_KEY_CACHE_SECONDS`` (10 s): most requests then
cost no query at all for authentication, and a revoked key stops working
everywhere within that time. ``last_used_at`` is written at most once a
minute per key and process, by one autocommitted UPDATE, so the check is
not turned into a write that every request would queue behind. Failed
attempts are throttled per client address (``CONSENT_API_AUTH_FAILURE_LIMIT``);
a valid key touches the limiter's storage only when a per-key limit is set
(``CONSENT_API_RATE_LIMIT``).
"""
from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import current_app, g, request
from limits import parse as parse_limit
from sqlalchemy import bindparam, or_, select, update

from consent_center.accounts.api_clients import PREFIX_LENGTH
from consent_center.clock import utcnow
from consent_center.extensions import limiter, quick_read
from consent_center.models import ApiClient
from consent_center.web.problems import Problem

LAST_USED_EVERY = timedelta(minutes=1)
# What the lean check (api/lean_check.py) leaves in the WSGI environ for Flask: the verdict of the
# per-key limit on a call it counted, and the database's error it met (the view raises it).
CALL_COUNTED = "consent_center.api_call_counted"
LEAN_CHECK_ERROR = "consent_center.lean_check_error"
MAX_KEY_LENGTH = 200
_clients = ApiClient.__table__
_LOOKUP = select(
    _clients.c.id, _clients.c.name, _clients.c.key_hash, _clients.c.scopes, _clients.c.revoked_at,
    _clients.c.last_used_at,
).where(_clients.c.key_prefix == bindparam("prefix"))


@dataclass(frozen=True)
class Caller:
    """The API client behind the request."""

    id: int
    name: str
    prefix: str
    scopes: frozenset[str]


@dataclass
class _Entry:
    caller: Caller
    key_hash: str
    fetched_at: datetime
    last_used_at: datetime | None


@dataclass
class KeyCache:
    """Valid keys seen lately by this process, by prefix (never bad keys)."""

    entries: dict[str, _Entry] = field(default_factory=dict)


def _cache() -> KeyCache:
    return current_app.extensions.setdefault("consent_api_keys", KeyCache())


def _unauthenticated(detail: str, error: str | None = None) -> Problem:
    challenge = 'Bearer realm="consent-center"' + (f', error="{error}"' if error else "")
    return Problem("unauthenticated", detail, headers={"WWW-Authenticate": challenge})


def bearer_key(header: str) -> str | None:
    """The key of an ``Authorization: Bearer <key>`` header, or None where it is not one."""
    scheme, _, key = header.partition(" ")
    key = key.strip()
    if (scheme.lower() != "bearer" or not key or len(key) > MAX_KEY_LENGTH
            or not key.isascii() or not key.isprintable()):
        return None
    return key


def presented_key() -> str:
    """Return the bearer key of the request, or raise a 401 problem."""
    header = request.headers.get("Authorization", "")
    if not header:
        raise _unauthenticated("Send your API key as 'Authorization: Bearer <key>'.")
    key = bearer_key(header)
    if key is None:
        raise _unauthenticated("The Authorization header must be 'Bearer <key>'.", "invalid_request")
    return key


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def _fresh(entry: _Entry | None, now: datetime) -> bool:
    return entry is not None and now - entry.fetched_at < timedelta(seconds=current_app.config["API_KEY_CACHE_SECONDS"])


def authenticate() -> Caller:
    """Return the caller of this request, or raise a 401 (or 429) problem."""
    key = presented_key()
    digest = _digest(key)
    prefix = key[:PREFIX_LENGTH]
    now = utcnow()
    cache = _cache()
    entry = cache.entries.get(prefix)
    if not _fresh(entry, now):
        _refuse_if_throttled()
        entry = _load(prefix, now)
        if entry is None:
            cache.entries.pop(prefix, None)
        else:
            cache.entries[prefix] = entry
    if entry is None or not hmac.compare_digest(entry.key_hash, digest):
        _count_failure()
        raise _unauthenticated("This API key is not valid (unknown or revoked).", "invalid_token")
    if entry.last_used_at is None or now - entry.last_used_at >= LAST_USED_EVERY:
        _mark_used(entry, now)
    if current_app.config["API_RATE_LIMIT"]:
        counted = request.environ.get(CALL_COUNTED)
        if not (within_rate_limit(prefix) if counted is None else counted):
            raise _rate_limited(prefix)
    g.api_caller = entry.caller
    return entry.caller


def known_caller(header: str) -> Caller | None:
    """The caller of an Authorization header when nothing is left to do for it, else None.

    For the lean check (api/lean_check.py): a valid key this process holds
    fresh, whose last use needs no writing. A None leaves the rest (a
    lookup, a failure to count, a 401 or 429) to ``authenticate``; the
    per-key limit is the lean check's to count (``within_rate_limit``),
    before it asks the database, and ``authenticate`` reads its verdict
    (``CALL_COUNTED``).
    """
    key = bearer_key(header) if header else None
    if key is None:
        return None
    now = utcnow()
    entry = _cache().entries.get(key[:PREFIX_LENGTH])
    if (not _fresh(entry, now) or not hmac.compare_digest(entry.key_hash, _digest(key))
            or entry.last_used_at is None or now - entry.last_used_at >= LAST_USED_EVERY):
        return None
    return entry.caller


def require_scope(caller: Caller, scope: str) -> None:
    if scope not in caller.scopes:
        raise Problem("forbidden-scope", f"This API key does not have the scope {scope!r} that "
                      f"this endpoint needs (it has: {', '.join(sorted(caller.scopes)) or 'none'}).")


def _load(prefix: str, now: datetime) -> _Entry | None:
    with quick_read() as connection:
        row = connection.execute(_LOOKUP, {"prefix": prefix}).first()
    if row is None or row.revoked_at is not None:
        return None
    caller = Caller(row.id, row.name, prefix, frozenset(row.scopes or ()))
    return _Entry(caller, row.key_hash, now, row.last_used_at)


def _mark_used(entry: _Entry, now: datetime) -> None:
    # Conditional, so that several processes write about once a minute in all.
    stmt = (update(_clients).where(_clients.c.id == entry.caller.id)
            .where(or_(_clients.c.last_used_at.is_(None), _clients.c.last_used_at <= now - LAST_USED_EVERY))
            .values(last_used_at=now))
    with quick_read() as connection:
        connection.execute(stmt)
    entry.last_used_at = now


def _failure_limit():
    return parse_limit(current_app.config["API_AUTH_FAILURE_LIMIT"])


def _refuse_if_throttled() -> None:
    item = _failure_limit()
    if not limiter.limiter.test(item, "api-auth-failures", request.remote_addr or "-"):
        stats = limiter.limiter.get_window_stats(item, "api-auth-failures", request.remote_addr or "-")
        retry = max(1, int(stats.reset_time - utcnow().timestamp()))
        raise Problem("rate-limited", f"Too many failed authentications from your address "
                      f"({current_app.config['API_AUTH_FAILURE_LIMIT']}); retry in {retry} s.",
                      headers={"Retry-After": str(retry)})


def within_rate_limit(prefix: str) -> bool:
    """Count a call against the optional per-key limit (CONSENT_API_RATE_LIMIT): False once reached."""
    return limiter.limiter.hit(parse_limit(current_app.config["API_RATE_LIMIT"]), "api-key", prefix)


def _rate_limited(prefix: str) -> Problem:
    item = parse_limit(current_app.config["API_RATE_LIMIT"])
    stats = limiter.limiter.get_window_stats(item, "api-key", prefix)
    retry = max(1, int(stats.reset_time - utcnow().timestamp()))
    return Problem("rate-limited", f"This key's rate limit ({current_app.config['API_RATE_LIMIT']}) "
                   f"is reached; retry in {retry} s.", headers={"Retry-After": str(retry)})


def _count_failure() -> None:
    limiter.limiter.hit(_failure_limit(), "api-auth-failures", request.remote_addr or "-")
