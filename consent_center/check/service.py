"""May we contact this person? The consent check, one contact or many.

This is the hot path of the API: it reads ConsentState with Core
statements on a connection outside any transaction (``quick_read``), one
indexed query for a single check, one query for a bulk check of any size
(the contacts bound as one parameter: a ``text[]`` on PostgreSQL, a JSON
array on SQLite). Only ``granted``
is allowed (``ALLOWED_STATUSES``); a contact the center does not know is
``unknown`` and a channel with no state for a known contact ``never_asked``
— both are "no" (invariant 5).

The answer itself is ``check.answer.consent_answer``'s (re-consent past its
grace period, validity elapsed, a channel out of use): the rules it needs
(``ChannelRules``) come with the channel ids from the per-process cache
(``check.channels``), so this adds no query. The bulk query compares each state's time with the
rules' cutoffs (``answer.cutoffs``) and ``answer.answer_from_flags`` decides.
"""
from __future__ import annotations

import gc
import json
from contextlib import contextmanager
from datetime import datetime

from flask import current_app
from sqlalchemy import (
    Integer,
    any_,
    bindparam,
    case,
    func,
    literal_column,
    select,
    union_all,
)
from sqlalchemy.engine import Connection

from consent_center.addresses import fingerprint, fingerprints, suppression_salt
from consent_center.check import answer as answers_
from consent_center.check.answer import (
    COUNTS,
    EXPIRED,
    MAYBE_EXPIRED,
    STALE,
    ChannelRules,
    State,
    answer_from_flags,
    consent_answer,
    unknown_answer,
    validity_elapsed,
)
from consent_center.check.channels import channel_rules
from consent_center.check.lookup_addresses import normalise_all_for_lookup
from consent_center.clock import utcnow
from consent_center.db import (
    TextArrayLiteral,
    TextListAsJSON,
    UTCDateTime,
    isoformat_sql,
)
from consent_center.models import (
    ConsentEvent,
    ConsentState,
    PolicyVersion,
    Receipt,
    Subject,
    SuppressedAddress,
)
from consent_center.models.vocabulary import ALLOWED_STATUSES, Status

_ALLOWED = frozenset(str(s) for s in ALLOWED_STATUSES)
_NEVER_ASKED = Status.NEVER_ASKED.value
_quote = json.encoder.encode_basestring  # a JSON string, escaped as json.dumps(ensure_ascii=False) does

_s, _st, _pv = Subject.__table__, ConsentState.__table__, PolicyVersion.__table__
_e, _r = ConsentEvent.__table__, Receipt.__table__
_sa = SuppressedAddress.__table__


def _state_of(key_column, match, *columns):
    return (
        select(key_column.label("key"), _s.c.public_id, _st.c.status, _st.c.basis, *columns)
        .select_from(
            _s.outerjoin(_st, (_st.c.subject_id == _s.c.id) & (_st.c.channel_id == bindparam("channel_id")))
            .outerjoin(_pv, _pv.c.id == _st.c.policy_version_id))
        .where(match)
    )


_ONE = (_s.c.id, _st.c.changed_at, _pv.c.label)
BY_EMAIL = _state_of(_s.c.email, _s.c.email == bindparam("key"), *_ONE)
BY_SUBJECT = _state_of(_s.c.public_id, _s.c.public_id == bindparam("key"), *_ONE)
_KEYS_FROM_JSON = select(func.json_each(bindparam("keys", type_=TextListAsJSON())).table_valued("value").c.value)
_MATCH_MANY = {
    "json": {"email": _s.c.email.in_(_KEYS_FROM_JSON), "subject": _s.c.public_id.in_(_KEYS_FROM_JSON),
             "phone": _s.c.phone.in_(_KEYS_FROM_JSON)},
    "any": {"email": _s.c.email == any_(bindparam("keys", type_=TextArrayLiteral())),
            "subject": _s.c.public_id == any_(bindparam("keys", type_=TextArrayLiteral())),
            "phone": _s.c.phone == any_(bindparam("keys", type_=TextArrayLiteral()))},
}
# By phone (check/by_phone.py): a number may be several subjects', a row each.
_KEY_OF = {"email": _s.c.email, "subject": _s.c.public_id, "phone": _s.c.phone}
# Bulk answers: the time comes as the text of the answer, and how it compares
# with the rules' cutoffs (answer.cutoffs; NULL ones never match) is asked in
# SQL, as answer.lapse_of does: a code, 0 when nothing lapsed.
# "any" is PostgreSQL's form, "json" SQLite's.
_LAPSE = case(
    (_st.c.changed_at <= bindparam("expired_by", type_=UTCDateTime()), literal_column(str(EXPIRED), Integer)),
    (_st.c.changed_at < bindparam("alive_from", type_=UTCDateTime()), literal_column(str(MAYBE_EXPIRED), Integer)),
    (_st.c.changed_at < bindparam("cutoff", type_=UTCDateTime()), literal_column(str(STALE), Integer)),
    else_=literal_column(str(COUNTS), Integer),
).label("lapse")
_STATE_STATEMENTS = {
    how: {by: _state_of(_KEY_OF[by], match, _LAPSE,
                        isoformat_sql(_st.c.changed_at, "postgresql" if how == "any" else "sqlite").label("changed_at"),
                        _pv.c.label)
          for by, match in matches.items()}
    for how, matches in _MATCH_MANY.items()
}
# The full bulk answer by e-mail also says which addresses asked are on the
# suppression list, in the same query: their digests (``fingerprints``), bound
# as one parameter too, come back as rows of their own, with no public id.
_DIGESTS_FROM_JSON = select(
    func.json_each(bindparam("digests", type_=TextListAsJSON())).table_valued("value").c.value)
_SUPPRESSED_ROWS = {
    how: select(_sa.c.digest.label("key"), *(literal_column("NULL").label(name) for name in (
        "public_id", "status", "basis", "lapse", "changed_at", "label"))).where(match)
    for how, match in {"json": _sa.c.digest.in_(_DIGESTS_FROM_JSON),
                       "any": _sa.c.digest == any_(bindparam("digests", type_=TextArrayLiteral()))}.items()
}
_ANSWER_STATEMENTS = {
    how: {"email": union_all(statements["email"], _SUPPRESSED_ROWS[how]), "subject": statements["subject"],
          "phone": union_all(statements["phone"], _SUPPRESSED_ROWS[how])}
    for how, statements in _STATE_STATEMENTS.items()
}
SUPPRESSED = select(_sa.c.id).where(_sa.c.digest == bindparam("digest"))
# One number: its subjects' states and, in the same query, whether it is on the suppression list.
BY_PHONE = union_all(
    _state_of(_s.c.phone, _s.c.phone == bindparam("key"), *_ONE),
    select(_sa.c.digest.label("key"), *(literal_column("NULL").label(name) for name in (
        "public_id", "status", "basis", "id", "changed_at", "label"))).where(_sa.c.digest == bindparam("digest")))
# Granted states only: the rest is "not allowed" whatever it is.
_GRANTED_STATEMENTS = {
    how: {by: select(_KEY_OF[by].label("key"))
          .select_from(_s.join(_st, (_st.c.subject_id == _s.c.id) & (_st.c.channel_id == bindparam("channel_id"))))
          .where(match, _st.c.status.in_(sorted(_ALLOWED)))
          for by, match in matches.items()}
    for how, matches in _MATCH_MANY.items()
}
# The subjects, of the public ids asked, that exist (bulk unsubscribe links).
_KNOWN_SUBJECTS = {how: {"subject": select(_s.c.public_id).where(matches["subject"])}
                   for how, matches in _MATCH_MANY.items()}
SUBJECT_BY = {
    "email": select(_s.c.id, _s.c.public_id, _s.c.created_at).where(_s.c.email == bindparam("key")),
    "subject": select(_s.c.id, _s.c.public_id, _s.c.created_at).where(_s.c.public_id == bindparam("key")),
    "phone": select(_s.c.id, _s.c.public_id, _s.c.created_at).where(_s.c.phone == bindparam("key"))
    .order_by(_s.c.public_id),
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


# --- answers ----------------------------------------------------------------

def _answer(channel: str, row, asked_by: str, asked: str, rules: ChannelRules, at: datetime,
            suppressed: bool = False) -> dict:
    decided = consent_answer(row, rules, at) if row is not None else unknown_answer(suppressed)
    if row is None or row.status is None:
        answer = {"allowed": decided.allowed, "channel": channel, "status": decided.status, "basis": None,
                  "policy_version": None, "changed_at": None}
    else:
        answer = {"allowed": decided.allowed, "channel": channel, "status": decided.status, "basis": row.basis,
                  "policy_version": row.label, "changed_at": row.changed_at.isoformat()}
    if asked_by == "email":
        answer["email"] = asked
    answer["subject"] = row.public_id if row is not None else (asked if asked_by == "subject" else None)
    return answer


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _suppressed(connection: Connection, email: str) -> bool:
    """Whether ``email`` (stored form) is on the suppression list: asked only of an address no subject has."""
    digest = fingerprint(email, suppression_salt(current_app.config))
    return connection.execute(SUPPRESSED, {"digest": digest}).first() is not None


def check_one(connection: Connection, channel: str, channel_pk: int, *, email: str | None = None,
              subject: str | None = None) -> dict:
    """Answer for one contact, by e-mail (already normalised) or subject id."""
    rules, now = channel_rules(connection, channel_pk), utcnow()
    if email is not None:
        row = connection.execute(BY_EMAIL, {"key": email, "channel_id": channel_pk}).first()
        return _answer(channel, row, "email", email, rules, now, row is None and _suppressed(connection, email))
    row = connection.execute(BY_SUBJECT, {"key": subject, "channel_id": channel_pk}).first()
    return _answer(channel, row, "subject", subject, rules, now)


def check_at(connection: Connection, channel: str, channel_pk: int, at: datetime, *,
             email: str | None = None, subject: str | None = None) -> dict:
    """Answer as of ``at`` from the ledger, naming the event and receipt behind it."""
    asked_by, asked = ("email", email) if email is not None else ("subject", subject)
    rules = channel_rules(connection, channel_pk)
    found = connection.execute(SUBJECT_BY[asked_by], {"key": asked}).first()
    suppressed = found is None and asked_by == "email" and _suppressed(connection, asked)
    answer = _answer(channel, None, asked_by, asked, rules, at, suppressed)
    answer.update(at=at.isoformat(), event=None, receipt=None)
    if found is None:
        return answer
    answer["subject"] = found.public_id
    event = connection.execute(EVENT_AT, {"subject_id": found.id, "channel_id": channel_pk, "at": at}).first()
    if event is None:
        # Not yet known to the center then, or known but never asked on this channel.
        if found.created_at <= at:
            decided = consent_answer(State(None, None, None), rules, at)
            answer.update(allowed=decided.allowed, status=decided.status)
        return answer
    decided = consent_answer(State(event.status, event.basis, event.occurred_at), rules, at)
    answer.update(allowed=decided.allowed, status=decided.status, basis=event.basis,
                  policy_version=event.label, changed_at=_iso(event.occurred_at),
                  event=event.public_id, receipt=event.receipt)
    return answer


def _lookup_keys(asked_by: str, asked: list[str]) -> tuple[list[str | None], list[str]]:
    """The stored form of each contact asked (None: not a valid address), and the distinct ones."""
    keys = normalise_all_for_lookup(asked) if asked_by == "email" else list(asked)
    return keys, [k for k in dict.fromkeys(keys) if k is not None]


@contextmanager
def collector_paused():
    """Python's cycle collector off, for the whole process, during one bulk check; then as it was.

    Its ~100,000 rows hold no reference cycle, and reference counting frees
    them all; the collector would run some 280 times a call for nothing (a
    sixth of the call's CPU on PostgreSQL). Made for sync workers; never
    held across the ``yield`` of a streamed answer, which a client could leave.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@contextmanager
def _unprepared(connection: Connection):
    """psycopg prepares nothing here: after ten runs of a prepared statement on one
    connection, PostgreSQL may plan it generically, as if for a handful of keys,
    and the bulk check takes twice as long; planning is nothing beside its run."""
    driver = connection.connection.driver_connection
    threshold = driver.prepare_threshold
    driver.prepare_threshold = None
    try:
        yield
    finally:
        driver.prepare_threshold = threshold


def _rows_of(connection: Connection, statements: dict, asked_by: str, wanted: list[str],
             channel_pk: int | None = None, **params):
    """Run the bulk statement for ``wanted``, bound as one parameter: a text[] on PostgreSQL, JSON on SQLite."""
    # Fetched whole (fetchall), not row by row: a tenth of the time for 100,000 rows.
    if connection.dialect.name == "postgresql":
        with _unprepared(connection):
            return connection.execute(statements["any"][asked_by],
                                      {"keys": wanted, "channel_id": channel_pk, **params}).all()
    return connection.execute(statements["json"][asked_by], {"keys": wanted, "channel_id": channel_pk, **params}).all()


def known_subject_ids(connection: Connection, wanted: list[str]) -> set[str]:
    """The public ids of ``wanted`` that are subjects', in one query as the bulk check's."""
    return {public_id for public_id, in _rows_of(connection, _KNOWN_SUBJECTS, "subject", wanted)}


def _lapse_params(rules: ChannelRules, at: datetime) -> dict:
    found = answers_.cutoffs(rules, at)
    return {"cutoff": found.reconsent, "expired_by": found.expired_by, "alive_from": found.alive_from}


def _flags(lapse: int, changed_at: str, rules: ChannelRules, at: datetime) -> tuple[bool, bool]:
    """(stale, expired) from the query's lapse code; between the validity cutoffs, decided exactly."""
    if lapse == MAYBE_EXPIRED:
        moment = datetime.fromisoformat(changed_at)
        cutoff = answers_.reconsent_cutoff(rules, at)
        return cutoff is not None and moment < cutoff, validity_elapsed(moment, rules.validity_months, at)
    return lapse == STALE, lapse == EXPIRED


def check_many_json(connection: Connection, channel: str, channel_pk: int, asked_by: str,
                    asked: list[str]) -> str:
    """The JSON array of the answers for each contact of ``asked``, in order, duplicates included.

    Each answer is the single check's (``_answer``), written as text from
    templates: building and encoding 100,000 dicts was most of a bulk
    check's time. Free text is escaped as json.dumps escapes it; the
    vocabulary codes and the time (formatted by the database) need no
    escaping. An e-mail address that is not valid is answered ``unknown``
    with ``"invalid": true`` rather than failing the other 99,999; one that
    no subject has and is on the suppression list, ``suppressed``.
    """
    keys, wanted = _lookup_keys(asked_by, asked)
    rules, now = channel_rules(connection, channel_pk), utcnow()
    by_email = asked_by == "email"
    by_digest = dict(zip(fingerprints(wanted, suppression_salt(current_app.config)), wanted)) if by_email else {}
    active = rules.active
    quoted_channel = _quote(channel)
    nothing = '"basis":null,"policy_version":null,"changed_at":null'
    unknown = f'{{"allowed":false,"channel":{quoted_channel},"status":"{unknown_answer().status}",{nothing}'
    suppressed = f'{{"allowed":false,"channel":{quoted_channel},"status":"{unknown_answer(True).status}",{nothing}'
    never = answer_from_flags(None, None, False, False, active)
    never_asked = (f'{{"allowed":{"true" if never.allowed else "false"},"channel":{quoted_channel},'
                   f'"status":"{never.status}",{nothing}')
    labels: dict[str | None, str] = {None: "null"}
    # One answer per distinct contact found, shared by its duplicates. The rows
    # are unpacked in the statement's column order: by name costs more than the rest.
    answers: dict[str, str] = {}
    # Where nothing lapsed, the answer depends on the status alone (tests/test_answer_rules.py): one per status.
    counted: dict[str, answers_.Answer] = {}
    on_list: set[str] = set()
    params = _lapse_params(rules, now) | ({"digests": list(by_digest)} if by_email else {})
    rows = _rows_of(connection, _ANSWER_STATEMENTS, asked_by, wanted, channel_pk, **params)
    for key, public_id, status, basis, lapse, changed_at, label in rows:
        if public_id is None:  # a digest on the suppression list, not a subject
            on_list.add(by_digest[key])
            continue
        if status is None:
            text = never_asked
        else:
            if lapse == COUNTS:
                decided = counted.get(status) or counted.setdefault(
                    status, answer_from_flags(status, basis, False, False, active))
            else:
                decided = answer_from_flags(status, basis, *_flags(lapse, changed_at, rules, now), active)
            quoted_label = labels.get(label) or labels.setdefault(label, _quote(label))
            allowed = "true" if decided.allowed else "false"
            text = (f'{{"allowed":{allowed},"channel":{quoted_channel},"status":"{decided.status}",'
                    f'"basis":"{basis}","policy_version":{quoted_label},"changed_at":"{changed_at}"')
        answers[key] = (f'{text},"email":{_quote(key)},"subject":{_quote(public_id)}}}' if by_email
                        else f'{text},"subject":{_quote(key)}}}')
    results = []
    for original, key in zip(asked, keys):
        answer = answers.get(key)
        if answer is None:
            if key is None:
                answer = f'{unknown},"email":{_quote(original)},"subject":null,"invalid":true}}'
            elif key in on_list:
                answer = answers[key] = f'{suppressed},"email":{_quote(key)},"subject":null}}'
            else:
                answer = answers[key] = (f'{unknown},"email":{_quote(key)},"subject":null}}' if by_email
                                         else f'{unknown},"subject":{_quote(key)}}}')
        results.append(answer)
    return f"[{','.join(results)}]"


def allowed_many(connection: Connection, channel_pk: int, asked_by: str, asked: list[str]) -> list[bool]:
    """The ``allowed`` of ``check_many_json``'s answers, and nothing else: one boolean per contact asked.

    Reads only the granted states where no rule can take a grant back (no
    re-consent cutoff, no validity), so that a campaign's list costs little
    more than its query; otherwise the states with their lapse code, as
    ``check_many_json``. A channel out of use answers no without a query.
    """
    keys, wanted = _lookup_keys(asked_by, asked)
    rules, now = channel_rules(connection, channel_pk), utcnow()
    if not rules.active:
        return [answer_from_flags(None, None, False, False, False).allowed] * len(keys)
    params = _lapse_params(rules, now)
    if params["cutoff"] is None and params["expired_by"] is None:
        allowed = {row.key for row in _rows_of(connection, _GRANTED_STATEMENTS, asked_by, wanted, channel_pk)}
    else:
        allowed = {row.key for row in _rows_of(connection, _STATE_STATEMENTS, asked_by, wanted, channel_pk,
                                               **params)
                   if row.status is not None
                   and answer_from_flags(row.status, row.basis, *_flags(row.lapse, row.changed_at, rules, now)).allowed}
    return [key in allowed for key in keys]
