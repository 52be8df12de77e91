"""The bulk check's one query: its statement, how it runs, and how its rows' lapse codes and blocks are read.

A bulk check of any size is one query (``check.service.check_many_json``,
``allowed_many``; ``check.by_phone``): the contacts asked are bound as one
parameter, a ``text[]`` on PostgreSQL ("any") and a JSON array on SQLite
("json"); the full answers by e-mail ask the erasure list about the
addresses no subject has in a second one, unless a list's rows ride in the
first (``erased_among``). Every row has the same seven columns: key, public id, status,
basis, lapse code, time, policy label; where a list, an undeliverable mark or the
erasure list can say no (``blocks.parts``), ten (``WIDTH``): with whether the subject
is a customer, and the subject's e-mail address and phone number where a list or the
erasure list needs them. Rows with no public id are not subjects: the digests asked that
the erasure list holds (no status), and the lists and undeliverable marks
naming them (``check.blocks``: status ``listed`` or ``undeliverable``).

The states' times are compared with the rules' cutoffs (``answer.cutoffs``;
NULL ones never match) in SQL, as ``answer.lapse_of`` does: a code, 0 when
nothing lapsed.
"""
from __future__ import annotations

from contextlib import contextmanager
from datetime import datetime
from functools import cache

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

from consent_center.check import answer as answers_
from consent_center.check import blocks
from consent_center.check.answer import (
    COUNTS,
    EXPIRED,
    MAYBE_EXPIRED,
    STALE,
    Block,
    ChannelRules,
    validity_elapsed,
)
from consent_center.db import (
    TextArrayLiteral,
    TextListAsJSON,
    UTCDateTime,
    isoformat_sql,
)
from consent_center.models import (
    ConsentState,
    PolicyVersion,
    Subject,
    SuppressedAddress,
)
from consent_center.models.vocabulary import ALLOWED_STATUSES

_ALLOWED = frozenset(str(s) for s in ALLOWED_STATUSES)
_s, _st, _pv, _sa = Subject.__table__, ConsentState.__table__, PolicyVersion.__table__, SuppressedAddress.__table__
_NULL = literal_column("NULL")
WIDTH = 10  # key, public_id, status, basis, lapse, changed_at, label, customer, email_of, phone_of
_NARROW = 7  # the same without the last three, where no list can say no
_CUSTOMER, _EMAIL_OF, _PHONE_OF = 7, 8, 9


def state_of(key_column, match, *columns):
    """The state on the channel (``channel_id``) of each subject ``match`` names, keyed by ``key_column``:
    the shape of every check's rows, one contact's (``check.service``) or many's."""
    return (
        select(key_column.label("key"), _s.c.public_id, _st.c.status, _st.c.basis, *columns)
        .select_from(
            _s.outerjoin(_st, (_st.c.subject_id == _s.c.id) & (_st.c.channel_id == bindparam("channel_id")))
            .outerjoin(_pv, _pv.c.id == _st.c.policy_version_id))
        .where(match)
    )


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
_LAPSE = case(
    (_st.c.changed_at <= bindparam("expired_by", type_=UTCDateTime()), literal_column(str(EXPIRED), Integer)),
    (_st.c.changed_at < bindparam("alive_from", type_=UTCDateTime()), literal_column(str(MAYBE_EXPIRED), Integer)),
    (_st.c.changed_at < bindparam("cutoff", type_=UTCDateTime()), literal_column(str(STALE), Integer)),
    else_=literal_column(str(COUNTS), Integer),
).label("lapse")
# The digests of the contacts asked (``addresses.fingerprints``), one more parameter: the erasure list's rows.
_DIGESTS_FROM_JSON = select(
    func.json_each(bindparam("digests", type_=TextListAsJSON())).table_valued("value").c.value)
_DIGEST_MATCH = {"json": _sa.c.digest.in_(_DIGESTS_FROM_JSON),
                 "any": _sa.c.digest == any_(bindparam("digests", type_=TextArrayLiteral()))}


@cache
def bulk_statement(how: str, by: str, riding: tuple[str, ...], others: tuple[str, ...], granted_only: bool = False,
                   erased: bool = False):
    """The one bulk query: the states of the contacts asked (only granted ones: ``granted_only``; their
    keys alone where no list can say no), with the
    erasure list's rows (``erased``: an address no subject has answers ``suppressed``, a number erased
    from one subject vetoes those who share it) and, when the contacts are the identifiers the
    channel's lists hold (``riding``: ``blocks.rides``), the lists' or undeliverable marks' rows; the subjects' ``others``
    identifiers come along for ``blocks.lookup``."""
    match = _MATCH_MANY[how][by]
    wide = riding or bool(others)
    identifiers = (_s.c.is_customer.label("customer"),
                   *(_s.c[name].label(f"{name}_of") if name in others else _NULL.label(f"{name}_of")
                     for name in ("email", "phone"))) if wide else ()
    if granted_only and not wide:  # nothing can take a grant back nor block it: the keys alone
        return (select(_KEY_OF[by].label("key"))
                .select_from(_s.join(_st, (_st.c.subject_id == _s.c.id)
                                     & (_st.c.channel_id == bindparam("channel_id"))))
                .where(match, _st.c.status.in_(sorted(_ALLOWED))))
    if granted_only:
        zero = literal_column(str(COUNTS), Integer)
        state = (select(_KEY_OF[by].label("key"), _s.c.public_id, _st.c.status, _st.c.basis, zero.label("lapse"),
                        _NULL.label("changed_at"), _NULL.label("label"), *identifiers)
                 .select_from(_s.join(_st, (_st.c.subject_id == _s.c.id)
                                      & (_st.c.channel_id == bindparam("channel_id"))))
                 .where(match, _st.c.status.in_(sorted(_ALLOWED))))
    else:
        state = state_of(_KEY_OF[by], match, _LAPSE,
                         isoformat_sql(_st.c.changed_at, "postgresql" if how == "any" else "sqlite").label(
                             "changed_at"), _pv.c.label, *identifiers)
    parts = [state]
    if erased:
        parts.append(select(_sa.c.digest.label("key"), *(_NULL for _ in range((WIDTH if wide else _NARROW) - 1)))
                     .where(_DIGEST_MATCH[how]))
    if riding:
        parts += blocks.block_rows(how, WIDTH, riding)
    return union_all(*parts) if len(parts) > 1 else state


# The erasure list's digests among those asked (``erased_among``).
_ERASED = {how: select(_sa.c.digest).where(match) for how, match in _DIGEST_MATCH.items()}
# The subjects, of the public ids asked, that exist (bulk unsubscribe links).
_KNOWN_SUBJECTS = {how: select(_s.c.public_id).where(matches["subject"]) for how, matches in _MATCH_MANY.items()}


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


def rows_of(connection: Connection, statement_of, wanted: list[str], channel_pk: int | None = None, **params):
    """Run ``statement_of(how)`` for ``wanted``, bound as one parameter: a text[] on PostgreSQL, JSON on SQLite."""
    # Fetched whole (fetchall), not row by row: a tenth of the time for 100,000 rows.
    if connection.dialect.name == "postgresql":
        with _unprepared(connection):
            return connection.execute(statement_of("any"), {"keys": wanted, "channel_id": channel_pk, **params}).all()
    return connection.execute(statement_of("json"), {"keys": wanted, "channel_id": channel_pk, **params}).all()


def known_subject_ids(connection: Connection, wanted: list[str]) -> set[str]:
    """The public ids of ``wanted`` that are subjects', in one query as the bulk check's."""
    return {public_id for public_id, in rows_of(connection, _KNOWN_SUBJECTS.__getitem__, wanted)}


def erased_among(connection: Connection, keys: list[str]) -> set[str]:
    """The keys, e-mail addresses no subject holds, that the erasure list holds: one query.

    Asked after the states, for the addresses no subject has: the others are
    answered by their subject's state whatever the list says. The two queries
    read two moments: an address erased, or a subject made with it, between
    them is answered ``unknown`` rather than ``suppressed``, never "allowed".
    """
    if not keys:
        return set()
    by_digest = blocks.digests_of(keys)
    if connection.dialect.name == "postgresql":
        with _unprepared(connection):  # as ``rows_of``: a send list of strangers is as long as any
            found = connection.scalars(_ERASED["any"], {"digests": list(by_digest)}).all()
    else:
        found = connection.scalars(_ERASED["json"], {"digests": list(by_digest)}).all()
    return {by_digest[digest] for digest in found}


def narrow(rows):
    """Wide rows (``WIDTH``) as their first seven columns, unpacked by the loops as narrow ones are."""
    return (row[:_NARROW] for row in rows)


def rows_by_key(rows, keys: list[str]) -> list:
    """The subjects' wide rows of ``keys`` (one row a key: by e-mail address or subject id)."""
    if not keys:
        return []
    wanted = set(keys)
    return [row for row in rows if row[1] is not None and row[0] in wanted]


def lapse_params(rules: ChannelRules, at: datetime) -> dict:
    found = answers_.cutoffs(rules, at)
    return {"cutoff": found.reconsent, "expired_by": found.expired_by, "alive_from": found.alive_from}


def flags(lapse: int, changed_at: str, rules: ChannelRules, at: datetime) -> tuple[bool, bool]:
    """(stale, expired) from the query's lapse code; between the validity cutoffs, decided exactly."""
    if lapse == MAYBE_EXPIRED:
        moment = datetime.fromisoformat(changed_at)
        cutoff = answers_.reconsent_cutoff(rules, at)
        return cutoff is not None and moment < cutoff, validity_elapsed(moment, rules.validity_months, at)
    return lapse == STALE, lapse == EXPIRED


def blocks_of_allowed(connection: Connection, rules: ChannelRules, at: datetime, riding: tuple[str, ...],
                      others: tuple[str, ...], found: blocks.Found, allowed: list) -> dict[str, Block]:
    """The blocks of the contacts otherwise allowed (bulk rows), by key: from the rows that rode in the
    query (``found``) and, for the subjects' other identifiers, one ``blocks.lookup`` for them all."""
    if not allowed or not (riding or others):
        return {}
    column = {"email": _EMAIL_OF, "phone": _PHONE_OF}
    if others:
        found.merge(blocks.lookup(connection, rules, at.date(),
                                  (row[column[name]] for row in allowed for name in others)))
    if not found:
        return {}
    named = found.named()
    decided = {}
    for row in allowed:
        values = ([row[0]] if riding else []) + [row[column[name]] for name in others]
        if named.isdisjoint(values):  # most contacts: on no list
            continue
        block = found.block(values, bool(row[_CUSTOMER]))
        if block is not None:
            decided[row[0]] = block
    return decided
