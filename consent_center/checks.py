"""May we contact this person? The consent check, one contact or many.

This is the hot path of the API: it reads ConsentState with Core
statements on a connection outside any transaction (``quick_read``), one
indexed query for a single check, one query per 10,000 contacts for a bulk
check (``= ANY(array)`` on PostgreSQL, one query in all). Only ``granted``
is allowed (``ALLOWED_STATUSES``); a contact the center does not know is
``unknown`` and a channel with no state for a known contact ``never_asked``
— both are "no" (invariant 5).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import Text, any_, bindparam, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection

from .clock import utcnow
from .models import Channel, ConsentEvent, ConsentState, PolicyVersion, Receipt, Subject
from .models.vocabulary import ALLOWED_STATUSES, Status
from .subjects import SubjectError, normalise_email

UNKNOWN = "unknown"
BULK_CHUNK = 10_000  # under SQLite's 32,766 bound parameters; fastest of 500..30k
CHANNELS_FRESH = timedelta(minutes=1)
_ALLOWED = frozenset(str(s) for s in ALLOWED_STATUSES)

_s, _st, _pv = Subject.__table__, ConsentState.__table__, PolicyVersion.__table__
_e, _r, _c = ConsentEvent.__table__, Receipt.__table__, Channel.__table__


def _state_of(key_column, match):
    return (
        select(key_column.label("key"), _s.c.id, _s.c.public_id, _st.c.status, _st.c.basis,
               _st.c.changed_at, _pv.c.label)
        .select_from(
            _s.outerjoin(_st, (_st.c.subject_id == _s.c.id) & (_st.c.channel_id == bindparam("channel_id")))
            .outerjoin(_pv, _pv.c.id == _st.c.policy_version_id))
        .where(match)
    )


BY_EMAIL = _state_of(_s.c.email, _s.c.email == bindparam("key"))
BY_SUBJECT = _state_of(_s.c.public_id, _s.c.public_id == bindparam("key"))
MANY_BY = {
    "email": _state_of(_s.c.email, _s.c.email.in_(bindparam("keys", expanding=True))),
    "subject": _state_of(_s.c.public_id, _s.c.public_id.in_(bindparam("keys", expanding=True))),
}
MANY_BY_ANY = {
    "email": _state_of(_s.c.email, _s.c.email == any_(bindparam("keys", type_=postgresql.ARRAY(Text)))),
    "subject": _state_of(_s.c.public_id, _s.c.public_id == any_(bindparam("keys", type_=postgresql.ARRAY(Text)))),
}
SUBJECT_BY = {
    "email": select(_s.c.id, _s.c.public_id, _s.c.created_at).where(_s.c.email == bindparam("key")),
    "subject": select(_s.c.id, _s.c.public_id, _s.c.created_at).where(_s.c.public_id == bindparam("key")),
}
EVENT_AT = (
    select(_e.c.public_id, _e.c.status, _e.c.basis, _e.c.occurred_at, _pv.c.label,
           _r.c.public_id.label("receipt"))
    .select_from(_e.join(_r, _r.c.id == _e.c.receipt_id).outerjoin(_pv, _pv.c.id == _e.c.policy_version_id))
    .where(_e.c.subject_id == bindparam("subject_id"), _e.c.channel_id == bindparam("channel_id"),
           _e.c.occurred_at <= bindparam("at"))
    .order_by(_e.c.seq.desc())
    .limit(1)
)
CHANNEL_IDS = select(_c.c.code, _c.c.id)


# --- channels ---------------------------------------------------------------

@dataclass
class _ChannelCodes:
    ids: dict[str, int] = field(default_factory=dict)
    loaded_at: datetime | None = None


def channel_id(connection: Connection, code: str) -> int | None:
    """Return the id of channel ``code`` (cached a minute; reloaded on a miss)."""
    cache = current_app.extensions.setdefault("consent_channel_ids", _ChannelCodes())
    now = utcnow()
    stale = cache.loaded_at is None or now - cache.loaded_at >= CHANNELS_FRESH
    if stale or code not in cache.ids:
        cache.ids = {c: i for c, i in connection.execute(CHANNEL_IDS)}
        cache.loaded_at = now
    return cache.ids.get(code)


# --- e-mail addresses -------------------------------------------------------

_ATEXT = r"[a-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_PLAIN_ADDRESS = re.compile(
    rf"(?P<local>{_ATEXT}(?:\.{_ATEXT})*)@(?P<domain>(?:{_LABEL}\.)+(?P<tld>[a-z](?:[a-z0-9-]{{0,61}}[a-z])?))"
)
_SPECIAL_USE_TLDS = frozenset({"arpa", "invalid", "local", "localhost", "onion", "test"})


def fast_normalise(address: str) -> str | None:
    """Return the stored form of a plain ASCII address, or None to ask email-validator.

    For a lower-cased dot-atom address on an ordinary domain, email-validator
    changes nothing but the case, so ``subjects.normalise_email`` and this
    agree (a property test holds them to it); anything else takes the slow path.
    """
    candidate = address.strip().lower()
    match = _PLAIN_ADDRESS.fullmatch(candidate)
    if (match is None or not candidate.isascii() or len(candidate) > 254 or len(match["local"]) > 64
            or "--" in match["domain"] or match["tld"] in _SPECIAL_USE_TLDS):
        return None
    return candidate


def normalise_for_lookup(address: str) -> str | None:
    """Return the stored form of ``address``, or None if it is not a valid address."""
    fast = fast_normalise(address)
    if fast is not None:
        return fast
    try:
        return normalise_email(address)
    except SubjectError:
        return None


# --- answers ----------------------------------------------------------------

def _answer(channel: str, row, asked_by: str, asked: str) -> dict:
    answer = {"allowed": False, "channel": channel, "status": UNKNOWN, "basis": None,
              "policy_version": None, "changed_at": None}
    if asked_by == "email":
        answer["email"] = asked
    answer["subject"] = asked if asked_by == "subject" else None
    if row is not None:
        answer["subject"] = row.public_id
        if row.status is None:
            answer["status"] = Status.NEVER_ASKED.value
        else:
            answer.update(allowed=row.status in _ALLOWED, status=row.status, basis=row.basis,
                          policy_version=row.label, changed_at=_iso(row.changed_at))
    return answer


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def check_one(connection: Connection, channel: str, channel_pk: int, *, email: str | None = None,
              subject: str | None = None) -> dict:
    """Answer for one contact, by e-mail (already normalised) or subject id."""
    if email is not None:
        row = connection.execute(BY_EMAIL, {"key": email, "channel_id": channel_pk}).first()
        return _answer(channel, row, "email", email)
    row = connection.execute(BY_SUBJECT, {"key": subject, "channel_id": channel_pk}).first()
    return _answer(channel, row, "subject", subject)


def check_at(connection: Connection, channel: str, channel_pk: int, at: datetime, *,
             email: str | None = None, subject: str | None = None) -> dict:
    """Answer as of ``at`` from the ledger, naming the event and receipt behind it."""
    asked_by, asked = ("email", email) if email is not None else ("subject", subject)
    answer = _answer(channel, None, asked_by, asked)
    answer.update(at=at.isoformat(), event=None, receipt=None)
    found = connection.execute(SUBJECT_BY[asked_by], {"key": asked}).first()
    if found is None:
        return answer
    answer["subject"] = found.public_id
    event = connection.execute(EVENT_AT, {"subject_id": found.id, "channel_id": channel_pk, "at": at}).first()
    if event is None:
        # Not yet known to the center then, or known but never asked on this channel.
        if found.created_at <= at:
            answer["status"] = Status.NEVER_ASKED.value
        return answer
    answer.update(allowed=event.status in _ALLOWED, status=event.status, basis=event.basis,
                  policy_version=event.label, changed_at=_iso(event.occurred_at),
                  event=event.public_id, receipt=event.receipt)
    return answer


def check_many(connection: Connection, channel: str, channel_pk: int, asked_by: str,
               asked: list[str]) -> list[dict]:
    """Answer for each contact of ``asked``, in order, duplicates included.

    An e-mail address that is not valid is answered ``unknown`` with
    ``"invalid": true`` rather than failing the other 99,999.
    """
    if asked_by == "email":
        keys = [normalise_for_lookup(a) for a in asked]
    else:
        keys = list(asked)
    wanted = [k for k in dict.fromkeys(keys) if k is not None]
    rows: dict[str, object] = {}
    if connection.dialect.name == "postgresql":
        stmt = MANY_BY_ANY[asked_by]
        for row in connection.execute(stmt, {"keys": wanted, "channel_id": channel_pk}):
            rows[row.key] = row
    else:
        stmt = MANY_BY[asked_by]
        for start in range(0, len(wanted), BULK_CHUNK):
            params = {"keys": wanted[start:start + BULK_CHUNK], "channel_id": channel_pk}
            for row in connection.execute(stmt, params):
                rows[row.key] = row
    results = []
    cache: dict[str, dict] = {}
    for original, key in zip(asked, keys):
        if key is None:
            results.append({"allowed": False, "channel": channel, "status": UNKNOWN, "basis": None,
                            "policy_version": None, "changed_at": None, "email": original,
                            "subject": None, "invalid": True})
            continue
        answer = cache.get(key)
        if answer is None:
            answer = cache[key] = _answer(channel, rows.get(key), asked_by, key)
        results.append(answer)
    return results
