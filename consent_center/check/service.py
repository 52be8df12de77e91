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
(``check.channels``), so this adds no query. The bulk query (``check.bulk``) compares each
state's time with the rules' cutoffs (``answer.cutoffs``) and ``answer.answer_from_flags``
decides. A suppression list in force for the channel's medium, or an
undeliverable address, turns an answer that would be allowed (or ``unknown``)
into ``listed`` or ``undeliverable`` (``check.blocks``, docs/suppression.md).
"""
from __future__ import annotations

import functools
import gc
import json
from contextlib import contextmanager
from datetime import datetime

from flask import current_app
from sqlalchemy import bindparam, literal_column, select, union_all
from sqlalchemy.engine import Connection

from consent_center.addresses import fingerprint, suppression_salt
from consent_center.check import answer as answers_
from consent_center.check import blocks, bulk
from consent_center.check.answer import (
    COUNTS,
    LISTED,
    Block,
    ChannelRules,
    State,
    answer_from_flags,
    consent_answer,
    detail_field,
    unknown_answer,
)
from consent_center.check.bulk import WIDTH, known_subject_ids, state_of  # noqa: F401 (links ask it here)
from consent_center.check.channels import channel_rules
from consent_center.check.lookup_addresses import normalise_all_for_lookup
from consent_center.clock import utcnow
from consent_center.models import (
    ConsentEvent,
    ConsentState,
    PolicyVersion,
    Receipt,
    Subject,
    SuppressedAddress,
)

_quote = json.encoder.encode_basestring  # a JSON string, escaped as json.dumps(ensure_ascii=False) does

_s, _e, _r, _sa = Subject.__table__, ConsentEvent.__table__, Receipt.__table__, SuppressedAddress.__table__
_st, _pv = ConsentState.__table__, PolicyVersion.__table__

# One contact's rows have the bulk rows' width (``check.bulk``), the subject's id in the lapse's place.
_ONE = (_s.c.id, _st.c.changed_at, _pv.c.label, _s.c.is_customer.label("customer"), _s.c.email.label("email_of"),
        _s.c.phone.label("phone_of"))
BY_EMAIL = state_of(_s.c.email, _s.c.email == bindparam("key"), *_ONE)
BY_SUBJECT = state_of(_s.c.public_id, _s.c.public_id == bindparam("key"), *_ONE)
SUPPRESSED = select(_sa.c.id).where(_sa.c.digest == bindparam("digest"))
# The erasure list's row for one contact's ``digest``, shaped as a state row with no public id nor status.
_ERASED_ONE = select(_sa.c.digest.label("key"), *(literal_column("NULL") for _ in range(WIDTH - 1))).where(
    _sa.c.digest == bindparam("digest"))
# One number: its subjects' states and, in the same query, whether the erasure list holds it and the
# lists in force for the channel's medium that name it (``check.blocks``, the number's ``digest``).
_NUMBER_ROWS = (state_of(_s.c.phone, _s.c.phone == bindparam("key"), *_ONE), _ERASED_ONE)
BY_PHONE = union_all(*_NUMBER_ROWS)
BY_PHONE_LISTED = union_all(*_NUMBER_ROWS, *blocks.block_rows("one", WIDTH, (LISTED,)))  # no marks: e-mail only
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
            suppressed: bool = False, block: Block | None = None) -> dict:
    decided = consent_answer(row, rules, at, block) if row is not None else unknown_answer(suppressed, block)
    if row is None or row.status is None:
        answer = {"allowed": decided.allowed, "channel": channel, "status": decided.status, "basis": None,
                  "policy_version": None, "changed_at": None}
    else:
        answer = {"allowed": decided.allowed, "channel": channel, "status": decided.status, "basis": row.basis,
                  "policy_version": row.label, "changed_at": row.changed_at.isoformat()}
    if decided.detail is not None:
        answer[detail_field(decided)] = decided.detail
    if asked_by == "email":
        answer["email"] = asked
    answer["subject"] = row.public_id if row is not None else (asked if asked_by == "subject" else None)
    return answer


def _block(connection: Connection, rules: ChannelRules, at: datetime, row, asked_by: str,
           asked: str) -> Block | None:
    """What blocks the contact asked (``check.blocks``): one more indexed query, asked only where a
    block can change the answer (an unknown contact, by the identifier the channel's lists hold,
    or a known one otherwise allowed)."""
    if not blocks.parts(rules):  # no list, undeliverable mark nor erasure that applies: nothing to ask
        return None
    if row is None:
        if not blocks.rides(rules, asked_by):
            return None
        return blocks.lookup(connection, rules, at.date(), [asked]).block([asked], False)
    if not consent_answer(row, rules, at).allowed:
        return None
    values = [getattr(row, f"{name}_of") for name in blocks.identifiers(rules.medium)]
    return blocks.lookup(connection, rules, at.date(), values).block(values, bool(row.customer))


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _suppressed(connection: Connection, email: str) -> bool:
    """Whether ``email`` (stored form) is on the suppression list: asked only of an address no subject has."""
    digest = fingerprint(email, suppression_salt(current_app.config))
    return connection.execute(SUPPRESSED, {"digest": digest}).first() is not None


@functools.cache
def _by_email_with_blocks(kinds: tuple[str, ...]):
    """One address's state, the erasure list's row and the block rows naming it, in one statement."""
    return union_all(BY_EMAIL, _ERASED_ONE, *blocks.block_rows("one", WIDTH, kinds))


def sort_contact_rows(rows, value: str) -> tuple[list, bool, blocks.Found]:
    """The rows of one contact's union (``value``, stored form): its subjects' states, whether the
    erasure list holds it, and what the lists and undeliverable marks say of it."""
    subjects, erased, found = [], False, blocks.Found()
    for row in rows:
        if row.public_id is not None:
            subjects.append(row)
        elif row.status is None:  # the erasure list's row
            erased = True
        else:  # a list or a mark naming it: its name or reason, and whether customers are exempt, in the id's place
            found.add(value, row.status, row.basis, row.id)
    return subjects, erased, found


def _check_email_with_blocks(connection: Connection, channel: str, channel_pk: int, email: str,
                             rules: ChannelRules, now: datetime, kinds: tuple[str, ...]) -> dict:
    """By e-mail on a channel whose lists hold e-mail addresses (``blocks.rides``): one round trip
    where three would be asked in turn (the state, then the erasure list or the blocks)."""
    params = {"key": email, "channel_id": channel_pk, "digest": fingerprint(email, suppression_salt(current_app.config)),
              **blocks.params(rules, now.date())}
    subjects, erased, found = sort_contact_rows(connection.execute(_by_email_with_blocks(kinds), params), email)
    row = subjects[0] if subjects else None  # an address is one subject's at most
    suppressed = row is None and erased
    if suppressed or (row is not None and not consent_answer(row, rules, now).allowed):
        return _answer(channel, row, "email", email, rules, now, suppressed)
    values = [email]
    if row is not None and (others := blocks.other_identifiers(rules, "email")):
        # A list of this medium may also name the subject's phone (a Robinson list for letters): asked too.
        values += [getattr(row, f"{name}_of") for name in others]
        found.merge(blocks.lookup(connection, rules, now.date(), values[1:]))
    block = found.block(values, row is not None and bool(row.customer)) if found else None
    return _answer(channel, row, "email", email, rules, now, suppressed, block)


def check_one(connection: Connection, channel: str, channel_pk: int, *, email: str | None = None,
              subject: str | None = None) -> dict:
    """Answer for one contact, by e-mail (already normalised) or subject id."""
    rules, now = channel_rules(connection, channel_pk), utcnow()
    if email is not None and (kinds := blocks.rides(rules, "email")):
        return _check_email_with_blocks(connection, channel, channel_pk, email, rules, now, kinds)
    if email is not None:
        row = connection.execute(BY_EMAIL, {"key": email, "channel_id": channel_pk}).first()
        suppressed = row is None and _suppressed(connection, email)
        block = None if suppressed else _block(connection, rules, now, row, "email", email)
        return _answer(channel, row, "email", email, rules, now, suppressed, block)
    row = connection.execute(BY_SUBJECT, {"key": subject, "channel_id": channel_pk}).first()
    return _answer(channel, row, "subject", subject, rules, now, block=_block(connection, rules, now, row,
                                                                                "subject", subject))


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


def _block_text(block: Block) -> str:
    return f',"{detail_field(block)}":{_quote(block.detail)}' if block.detail is not None else ""


def check_many_json(connection: Connection, channel: str, channel_pk: int, asked_by: str,
                    asked: list[str]) -> str:
    """The JSON array of the answers for each contact of ``asked``, in order, duplicates included.

    Each answer is the single check's (``_answer``), written as text from
    templates: building and encoding 100,000 dicts was most of a bulk
    check's time. Free text is escaped as json.dumps escapes it; the
    vocabulary codes and the time (formatted by the database) need no
    escaping. An e-mail address that is not valid is answered ``unknown``
    with ``"invalid": true`` rather than failing the other 99,999; one that
    no subject has and is on the suppression list, ``suppressed``; one on a
    list in force for the channel, or undeliverable, ``listed`` or
    ``undeliverable``; on a channel reaching a phone, a subject whose number
    was erased with another subject, ``suppressed`` (``check.blocks``).
    """
    keys, wanted = _lookup_keys(asked_by, asked)
    rules, now = channel_rules(connection, channel_pk), utcnow()
    by_email = asked_by == "email"
    riding, others = blocks.rides(rules, asked_by), blocks.other_identifiers(rules, asked_by)
    # Every contact's digest where a list's rows ride in the query (the erasure list's with them); else
    # only those of the addresses no subject has, after it (``bulk.erased_among``): 100,000 HMACs and
    # their parameter were a fifth of a bulk check where every contact is known.
    by_digest = dict(zip(blocks.digests(wanted), wanted)) if riding else {}  # wanted: distinct
    erased_rides = by_email and bool(riding)
    wide = riding or bool(others)  # ten columns: a list may still say no (check.bulk)
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
    found = blocks.Found()
    allowed_keys = []  # what a list or an undeliverable mark may still turn into a "no" (wide rows only)
    params = (bulk.lapse_params(rules, now) | ({"digests": list(by_digest)} if riding else {})
              | (blocks.params(rules, now.date()) if riding else {}))
    rows = bulk.rows_of(connection, lambda how: bulk.bulk_statement(how, asked_by, riding, others,
                                                                    erased=erased_rides),
                        wanted, channel_pk, **params)
    for key, public_id, status, basis, lapse, changed_at, label in bulk.narrow(rows) if wide else rows:
        if public_id is None:  # a digest on the suppression list or a list, not a subject
            if status is None:
                on_list.add(by_digest[key])
            else:
                found.add(by_digest[key], status, basis, lapse)
            continue
        if status is None:
            text = never_asked
        else:
            if lapse == COUNTS:
                decided = counted.get(status) or counted.setdefault(
                    status, answer_from_flags(status, basis, False, False, active))
            else:
                decided = answer_from_flags(status, basis, *bulk.flags(lapse, changed_at, rules, now), active)
            quoted_label = labels.get(label) or labels.setdefault(label, _quote(label))
            allowed = "true" if decided.allowed else "false"
            if wide and decided.allowed:
                allowed_keys.append(key)
            text = (f'{{"allowed":{allowed},"channel":{quoted_channel},"status":"{decided.status}",'
                    f'"basis":"{basis}","policy_version":{quoted_label},"changed_at":"{changed_at}"')
        answers[key] = (f'{text},"email":{_quote(key)},"subject":{_quote(public_id)}}}' if by_email
                        else f'{text},"subject":{_quote(key)}}}')
    allowed_rows = bulk.rows_by_key(rows, allowed_keys)
    refused = bulk.blocks_of_allowed(connection, rules, now, riding, others, found, allowed_rows)
    for row in allowed_rows if refused else ():
        block = refused.get(row[0])
        if block is None:
            continue
        key = row[0]
        answers[key] = (f'{{"allowed":false,"channel":{quoted_channel},"status":"{block.status}",'
                        f'"basis":"{row[3]}","policy_version":{labels[row[6]]},"changed_at":"{row[5]}"'
                        f'{_block_text(block)},' + (f'"email":{_quote(key)},' if by_email else '')
                        + f'"subject":{_quote(row[1])}}}')
    if by_email and not riding and len(answers) < len(wanted):  # some address no subject has
        on_list = bulk.erased_among(connection, [key for key in wanted if key not in answers])
    named = found.named() if riding else frozenset()  # unknown contacts a list or mark names
    results = []
    for original, key in zip(asked, keys):
        answer = answers.get(key)
        if answer is None:
            if key is None:
                answer = f'{unknown},"email":{_quote(original)},"subject":null,"invalid":true}}'
            elif key in on_list:
                answer = answers[key] = f'{suppressed},"email":{_quote(key)},"subject":null}}'
            elif key in named and (block := found.block([key], False)) is not None:
                answer = answers[key] = (f'{{"allowed":false,"channel":{quoted_channel},"status":"{block.status}",'
                                         f'{nothing}{_block_text(block)},'
                                         + (f'"email":{_quote(key)},"subject":null}}' if by_email
                                            else f'"subject":{_quote(key)}}}'))
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
    ``check_many_json``; with, in both, the lists, undeliverable marks and
    erased numbers naming them (``check.blocks``). A channel out of use answers no without a query.
    """
    keys, wanted = _lookup_keys(asked_by, asked)
    rules, now = channel_rules(connection, channel_pk), utcnow()
    if not rules.active:
        return [answer_from_flags(None, None, False, False, False).allowed] * len(keys)
    riding, others = blocks.rides(rules, asked_by), blocks.other_identifiers(rules, asked_by)
    by_digest = dict(zip(blocks.digests(wanted), wanted)) if riding else {}
    params = (bulk.lapse_params(rules, now) | ({"digests": list(by_digest)} if riding else {})
              | (blocks.params(rules, now.date()) if riding else {}))
    granted_only = params["cutoff"] is None and params["expired_by"] is None
    rows = bulk.rows_of(connection, lambda how: bulk.bulk_statement(how, asked_by, riding, others, granted_only),
                        wanted, channel_pk, **params)
    if granted_only and not (riding or others):  # the keys of the grants, and nothing can say no to them
        allowed = {key for key, in rows}
        return [key in allowed for key in keys]
    found, allowed_rows = blocks.Found(), []
    for row in rows:
        if row[1] is None:
            if row[2] is not None:
                found.add(by_digest[row[0]], row[2], row[3], row[4])
        elif row[2] is not None and (granted_only or answer_from_flags(
                row[2], row[3], *bulk.flags(row[4], row[5], rules, now)).allowed):
            allowed_rows.append(row)
    refused = bulk.blocks_of_allowed(connection, rules, now, riding, others, found, allowed_rows)
    allowed = {row[0] for row in allowed_rows} - set(refused)
    return [key in allowed for key in keys]
