"""What stops a contact being reached whatever its consent: a suppression list, an undeliverable
address, a number erased with another subject.

A list (``models.SuppressionList``) holds the digests of identifiers not to be
contacted by one medium (``Channel.medium``); ``undeliverable_addresses`` the
digests of e-mail addresses the mail providers gave up on. Both are keyed by
``addresses.fingerprint`` with the suppression list's key, so the values asked
are hashed here and compared with what is stored.

The bulk check folds these rows into its one query when the contacts are
asked by the identifier the channel's medium uses (e-mail addresses on an
e-mail channel): their digests ride as one more parameter, as the erasure
list's do (``block_rows``). Asked by another key (subject ids, e-mail
addresses on an SMS channel) the identifiers are the subjects' own, known only
once the states are read: a second query, one for the whole list, asks about
those of the contacts that would otherwise be allowed (``lookup``).

A number can be several subjects': erased at one's request, it goes on the
erasure list (``suppressed_addresses``) while the others keep it. On a channel
that reaches a phone, the erasure list is asked about a subject's number as a
list is (``SUPPRESSED``), once anything was ever erased: a message to that
subject reaches the erased number, and the check by phone answers
``suppressed`` for it (``check.by_phone``, which asks the erasure list itself).
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache
from typing import Protocol

from flask import current_app
from sqlalchemy import (
    Date,
    Integer,
    any_,
    bindparam,
    case,
    func,
    literal_column,
    or_,
    select,
    union_all,
)
from sqlalchemy.engine import Connection

from consent_center.addresses import fingerprints, suppression_salt
from consent_center.check.answer import (
    LISTED,
    SUPPRESSED,
    UNDELIVERABLE,
    Answer,
    Block,
    ChannelRules,
    StateLike,
    block_for,
    consent_answer,
)
from consent_center.db import TextArrayLiteral, TextListAsJSON
from consent_center.models import (
    SuppressedAddress,
    SuppressionEntry,
    SuppressionList,
    UndeliverableAddress,
)
from consent_center.models.vocabulary import Medium

_l, _en, _u = SuppressionList.__table__, SuppressionEntry.__table__, UndeliverableAddress.__table__
_sa = SuppressedAddress.__table__
# The media whose messages reach a phone number: asked about by number (check.by_phone), and
# where a number erased with another subject blocks the subjects who still have it.
PHONE_MEDIA = frozenset({Medium.SMS.value, Medium.PHONE.value})


class SubjectIdentifiers(Protocol):
    """A Subject, or a row of these columns: what the lists are compared with."""

    email: str | None
    phone: str | None
    is_customer: bool


# The identifiers of a contact that a medium's lists hold: a Robinson list, or a
# list of another medium, may name a person by e-mail address or phone number.
_IDENTIFIERS = {"email": ("email",), "sms": ("phone",), "phone": ("phone",)}
UNDELIVERABLE_STATE = "undeliverable"
_NEVER = "-"  # no state is this: undeliverable addresses are for e-mail channels only


def identifiers(medium: str) -> tuple[str, ...]:
    """The subject's fields (``email``, ``phone``) that the lists of ``medium`` are compared with."""
    return _IDENTIFIERS.get(medium, ("email", "phone"))


def parts(rules: ChannelRules) -> tuple[str, ...]:
    """What may block a contact on the channel: ``listed`` where a list of its medium exists,
    ``undeliverable`` on an e-mail channel where some address is marked, ``suppressed`` on a
    channel that reaches a phone where anything was ever erased (``check.channels``)."""
    return (((LISTED,) if rules.lists else ())
            + ((UNDELIVERABLE,) if rules.marks and rules.medium == "email" else ())
            + ((SUPPRESSED,) if rules.erasures and rules.medium in PHONE_MEDIA else ()))


def rides(rules: ChannelRules, asked_by: str) -> tuple[str, ...]:
    """The block rows that ride in the one query (``parts``), where the contacts asked are themselves
    identifiers the channel's lists hold; none where nothing may block (nothing to hash). Not the
    erasure list's: asked by the number itself, the check by phone reads it as its own rows."""
    if asked_by not in identifiers(rules.medium):
        return ()
    return tuple(kind for kind in parts(rules) if kind != SUPPRESSED)


def other_identifiers(rules: ChannelRules, asked_by: str) -> tuple[str, ...]:
    """The subject fields to look up after the states are read (``lookup``); none where nothing may block."""
    return tuple(name for name in identifiers(rules.medium) if name != asked_by) if parts(rules) else ()


def params(rules: ChannelRules, today: date) -> dict:
    """The parameters of ``block_rows``: the medium, the day (lists in force), the undeliverable state."""
    return {"medium": rules.medium, "today": today,
            "undeliverable_state": UNDELIVERABLE_STATE if rules.medium == "email" else _NEVER}


def _in_force():
    return (_l.c.medium == bindparam("medium")) & or_(_l.c.valid_until.is_(None),
                                                      _l.c.valid_until >= bindparam("today", type_=Date()))


_MATCH = {
    "json": lambda column: column.in_(select(func.json_each(bindparam("digests", type_=TextListAsJSON()))
                                             .table_valued("value").c.value)),
    "any": lambda column: column == any_(bindparam("digests", type_=TextArrayLiteral())),
    "list": lambda column: column.in_(bindparam("digests", expanding=True)),
    "one": lambda column: column == bindparam("digest"),  # the single check by phone (check.by_phone)
}
_EXEMPT = case((_l.c.customers_exempt.is_(True), literal_column("1", Integer)), else_=literal_column("0", Integer))


def block_rows(how: str, width: int, kinds: tuple[str, ...] = (LISTED, UNDELIVERABLE)) -> list:
    """Rows shaped as a bulk state row of ``width`` columns, for the digests asked:
    (digest, NULL public id, ``listed``, ``undeliverable`` or ``suppressed``, the list's name
    or the reason, 1 if the list exempts customers, NULL…); only the ``kinds`` asked for
    (``parts``: the digests are not matched against a table that can say nothing)."""
    match, pad = _MATCH[how], [literal_column("NULL") for _ in range(width - 5)]
    listed = (select(_en.c.digest.label("key"), literal_column("NULL").label("public_id"),
                     literal_column(f"'{LISTED}'").label("status"), _l.c.name.label("basis"),
                     _EXEMPT.label("lapse"), *pad)
              .select_from(_en.join(_l, _l.c.id == _en.c.list_id)).where(match(_en.c.digest), _in_force()))
    undeliverable = select(_u.c.digest.label("key"), literal_column("NULL").label("public_id"),
                           literal_column(f"'{UNDELIVERABLE}'").label("status"), _u.c.reason.label("basis"),
                           literal_column("0", Integer).label("lapse"), *pad).where(
        match(_u.c.digest), _u.c.state == bindparam("undeliverable_state"))
    erased = select(_sa.c.digest.label("key"), literal_column("NULL").label("public_id"),
                    literal_column(f"'{SUPPRESSED}'").label("status"), literal_column("NULL").label("basis"),
                    literal_column("0", Integer).label("lapse"), *pad).where(match(_sa.c.digest))
    return [part for kind, part in ((LISTED, listed), (UNDELIVERABLE, undeliverable), (SUPPRESSED, erased))
            if kind in kinds]


@cache
def _lookup_statement(kinds: tuple[str, ...]):
    return union_all(*block_rows("list", 5, kinds))


@dataclass
class Found:
    """What the block rows said, by value asked (stored form)."""

    listings: dict[str, list[tuple[str, bool]]] = field(default_factory=lambda: defaultdict(list))
    undeliverable: dict[str, str] = field(default_factory=dict)
    erased: set[str] = field(default_factory=set)

    def add(self, value: str, kind: str, detail: str | None, exempt) -> None:
        if kind == LISTED:
            self.listings[value].append((detail, bool(exempt)))
        elif kind == SUPPRESSED:
            self.erased.add(value)
        else:
            self.undeliverable[value] = detail

    def __bool__(self) -> bool:
        return bool(self.listings or self.undeliverable or self.erased)

    def merge(self, other: Found) -> None:
        """Take in what another lookup found (the subjects' other identifiers)."""
        for value, items in other.listings.items():
            self.listings[value] += items
        self.undeliverable.update(other.undeliverable)
        self.erased |= other.erased

    def named(self):
        """The values a list, an undeliverable mark or the erasure list names."""
        return self.listings.keys() | self.undeliverable.keys() | self.erased

    def block(self, values: Iterable[str | None], is_customer: bool) -> Block | None:
        """The block of a contact whose identifiers are ``values`` (``answer.block_for``)."""
        values = [v for v in values if v]
        return block_for([item for v in values for item in self.listings.get(v, ())],
                         next((self.undeliverable[v] for v in values if v in self.undeliverable), None),
                         is_customer, erased=not self.erased.isdisjoint(values))


def digests(values: list[str]) -> list[str]:
    """Each value's digest, in order (``addresses.fingerprints`` with the suppression list's key)."""
    return fingerprints(values, suppression_salt(current_app.config))


def digests_of(values: Iterable[str]) -> dict[str, str]:
    """Each distinct value's digest → the value."""
    values = list(dict.fromkeys(values))
    return dict(zip(digests(values), values))


def lookup(connection: Connection, rules: ChannelRules, today: date, values: Iterable[str | None]) -> Found:
    """The lists in force for the channel's medium, the undeliverable marks and, on a channel reaching
    a phone, the erasure list naming any of ``values`` (one query)."""
    found, kinds = Found(), parts(rules)
    by_digest = digests_of(v for v in values if v) if kinds else {}
    if not by_digest:
        return found
    for digest, _, kind, detail, exempt in connection.execute(
            _lookup_statement(kinds), {"digests": list(by_digest), **params(rules, today)}):
        found.add(by_digest[digest], kind, detail, exempt)
    return found


def answers_now(connection: Connection, now: datetime,
                asked: Sequence[tuple[StateLike | None, ChannelRules, SubjectIdentifiers]]) -> list[Answer]:
    """The check's answer now for each (state, channel rules, subject): the consent answer, then, for
    those it allows, the lists in force, the undeliverable marks and the erasure list (``parts``)
    naming the subject's identifiers.
    What a subject's consents, the change feed and a change's own answer say: one lookup a medium."""
    answers = [consent_answer(state, rules, now) for state, rules, _ in asked]
    waiting: dict[tuple, list[int]] = defaultdict(list)  # (medium, what may block) → the answers it may turn
    for i, ((_, rules, _), answer) in enumerate(zip(asked, answers)):
        if answer.allowed and parts(rules):
            waiting[(rules.medium, parts(rules))].append(i)
    for indexes in waiting.values():
        rules = asked[indexes[0]][1]
        values = {i: [getattr(asked[i][2], name) for name in identifiers(rules.medium)] for i in indexes}
        found = lookup(connection, rules, now.date(), (v for vs in values.values() for v in vs))
        for i in indexes if found else ():
            state, rules, subject = asked[i]
            block = found.block(values[i], bool(subject.is_customer))
            if block is not None:
                answers[i] = consent_answer(state, rules, now, block)
    return answers
