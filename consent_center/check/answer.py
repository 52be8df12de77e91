"""The consent answer: may a tool reach this contact on this channel at this moment? One function.

``consent_answer(state, rules, at)`` decides, from a channel's state (its
status, basis and when it last changed), the channel's rules and a moment,
whether the answer is "allowed", with the status a tool is told and the
reason. Every surface that tells a tool "allowed" asks it (or, on the bulk
check's SQL path, ``answer_from_flags`` with flags that ``cutoffs`` set up):
the checks, a subject's consents, the change feed, webhooks, the exports and
the auditor's as-of view. It reads no clock and no database.

The safe answer is no (invariant 5): only a grant counts, and not

- from a contact the center does not know (``unknown``), or no longer knows
  because it was erased at its owner's request and its address is on the
  suppression list (``suppressed``), or never asked on the channel
  (``never_asked``);
- on a channel taken out of use (``channel_inactive``);
- for a consent past its channel's validity, ``add_months(changed_at,
  validity_months) <= at``, even before the expiry job has recorded it
  (status ``expired``, reason ``validity_elapsed``);
- for a consent on a channel that requires re-consent, given before the
  newest material policy version whose grace period was over at ``at``
  (``reconsent_required``);
- for a contact on a suppression list in force for the channel's medium
  (``listed``, naming the list: a national opt-out register, SMS STOPs, spam
  complaints), unless the list exempts customers and the contact is one;
- on an e-mail channel, for an address the mail providers say is
  undeliverable (``undeliverable``, with the reason);
- on a channel that reaches a phone, for a subject whose number is on the
  suppression list because another subject who had it was erased
  (``suppressed``): a message to it reaches the erased number, as the check
  by phone says. A list, an undeliverable address or an erased number takes
  the place of an "allowed" or ``unknown`` answer; any other "no" keeps its
  own status (a withdrawal stays one).

Validity and re-consent are about consent only: legitimate interest and the
soft opt-in do not rest on an agreement that ages or a policy text.
"""
from __future__ import annotations

import calendar
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from consent_center.models.vocabulary import ALLOWED_STATUSES, Basis, Status

UNKNOWN = "unknown"
SUPPRESSED = "suppressed"
RECONSENT_REQUIRED = "reconsent_required"
VALIDITY_ELAPSED = "validity_elapsed"
CHANNEL_INACTIVE = "channel_inactive"
LISTED = "listed"
UNDELIVERABLE = "undeliverable"
_ALLOWED = frozenset(str(s) for s in ALLOWED_STATUSES)
_CONSENT = Basis.CONSENT.value
_EXPIRED = Status.EXPIRED.value


def add_months(moment: datetime, months: int) -> datetime:
    """``moment`` plus calendar months, the day clamped to the month's end (31 Jan + 1 = 28/29 Feb)."""
    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    return moment.replace(year=year, month=month, day=min(moment.day, calendar.monthrange(year, month)[1]))


def validity_elapsed(changed_at: datetime, validity_months: int | None, at: datetime) -> bool:
    """Whether a consent given (or renewed) at ``changed_at`` has lapsed by ``at``: THE definition."""
    return validity_months is not None and add_months(changed_at, validity_months) <= at


def lapses_at(status: str | None, basis: str | None, changed_at: datetime | None,
              validity_months: int | None) -> datetime | None:
    """When a state's consent lapses; None when it does not (no grant on consent, no validity)."""
    if status not in _ALLOWED or basis != _CONSENT or changed_at is None or validity_months is None:
        return None
    return add_months(changed_at, validity_months)


@dataclass(frozen=True)
class ChannelRules:
    """What, besides its state, decides a channel's answer."""

    active: bool = True
    requires_reconsent: bool = False
    validity_months: int | None = None
    # When each material policy version came (or comes) into force, oldest first.
    material_dates: Sequence[datetime] = ()
    grace: timedelta = timedelta(days=30)
    # What kind of address the channel reaches (models.vocabulary.Medium): which lists apply.
    medium: str = "email"
    # Whether a suppression list of that medium exists at all, whether any address is marked
    # undeliverable, and whether the erasure list holds anything: where none can say no, the checks
    # hash nothing and ask no list (check.blocks.parts). True unless known (check.channels reads
    # them with the channels).
    lists: bool = True
    marks: bool = True
    erasures: bool = True

    @classmethod
    def of(cls, channel, material_dates: Sequence[datetime] = (), grace: timedelta = timedelta(days=30)) -> ChannelRules:
        """The rules of a Channel (or a row with its columns)."""
        return cls(bool(channel.active), bool(channel.requires_reconsent), channel.validity_months,
                   material_dates, grace, channel.medium)


@dataclass(frozen=True)
class Answer:
    allowed: bool
    status: str
    reason: str
    # ``listed``: the list's name; ``undeliverable``: why (``hard_bounce``, ``soft_bounces``).
    detail: str | None = None


@dataclass(frozen=True)
class Block:
    """Why a contact must not be reached whatever its consent says (see ``block_for``)."""

    status: str  # LISTED, UNDELIVERABLE or SUPPRESSED
    detail: str | None  # the list's name, why undeliverable; nothing for an erased number


def block_for(listings: Iterable[tuple[str, bool]], undeliverable: str | None, is_customer: bool,
              erased: bool = False) -> Block | None:
    """What blocks a contact: an identifier of theirs erased with someone else (``erased``), else the
    first list in force naming it (by name) that applies to it, else the reason its address is
    undeliverable; None: nothing.

    ``listings``: (name, customers_exempt) of each list in force for the
    channel's medium that holds one of the contact's identifiers. A list that
    exempts customers does not apply to a subject who is one (a register such
    as Bloctel lets a company call the people it has a contract with).
    """
    if erased:  # no exemption: the erased person did not ask to hear from the company
        return Block(SUPPRESSED, None)
    names = sorted(name for name, exempt in listings if not (exempt and is_customer))
    if names:
        return Block(LISTED, names[0])
    return Block(UNDELIVERABLE, undeliverable) if undeliverable else None


def detail_field(found: Answer | Block) -> str:
    """The answer's field that names what blocks a contact: ``list`` (the list's name) or ``reason``."""
    return "list" if found.status == LISTED else "reason"


def blocked(decided: Answer, block: Block | None) -> Answer:
    """``decided`` with ``block`` applied: it replaces an "allowed" or an ``unknown``; other answers stay."""
    if block is None or not (decided.allowed or decided.status == UNKNOWN):
        return decided
    return Answer(False, block.status, block.status, block.detail)


class StateLike(Protocol):
    status: str | None
    basis: str | None
    changed_at: datetime | None


@dataclass(frozen=True)
class Cutoffs:
    """For one channel at one moment, the times that decide a state's answer.

    ``reconsent``: a consent changed before it no longer counts (None: none).
    Validity is no single cutoff (the month's end clamps the day, so
    ``add_months`` is not monotonic over a day's times): a consent changed at
    or before ``expired_by`` has lapsed, one changed at or after
    ``alive_from`` has not, and between the two ``validity_elapsed`` decides.
    """

    reconsent: datetime | None = None
    expired_by: datetime | None = None
    alive_from: datetime | None = None


def reconsent_cutoff(rules: ChannelRules, at: datetime) -> datetime | None:
    """When the newest material version whose grace period was over at ``at`` came into force.

    None when the channel does not require re-consent or no such version exists.
    """
    if not rules.requires_reconsent or not rules.material_dates:
        return None
    count = bisect_right(rules.material_dates, at - rules.grace)
    return rules.material_dates[count - 1] if count else None


def cutoffs(rules: ChannelRules, at: datetime) -> Cutoffs:
    """The cutoffs of ``rules`` at ``at``, for a query to compare its times with."""
    months = rules.validity_months
    if months is None:
        return Cutoffs(reconsent_cutoff(rules, at))
    # x <= add_months(at, -m) implies add_months(x, m) <= at; from the first
    # instant of the month after add_months(at, -m)'s, x lands after at's month.
    expired_by = add_months(at, -months)
    first = expired_by.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    alive_from = add_months(first, 1)
    return Cutoffs(reconsent_cutoff(rules, at), expired_by, alive_from)


# Lapse codes: how a state's time compares with the cutoffs (what the bulk query computes).
COUNTS, STALE, EXPIRED, MAYBE_EXPIRED = 0, 1, 2, 3


def lapse_of(changed_at: datetime, found: Cutoffs) -> int:
    """The lapse code of a state changed at ``changed_at`` (the bulk query's CASE, in Python)."""
    if found.expired_by is not None and changed_at <= found.expired_by:
        return EXPIRED
    if found.alive_from is not None and changed_at < found.alive_from:
        return MAYBE_EXPIRED
    if found.reconsent is not None and changed_at < found.reconsent:
        return STALE
    return COUNTS


def _build_answers() -> dict:
    answers = {}
    for status in [s.value for s in Status] + [None]:
        for basis in [b.value for b in Basis] + [None]:
            for stale in (False, True):
                for expired in (False, True):
                    for active in (False, True):
                        answers[status, basis, stale, expired, active] = _decide(
                            status, basis, stale, expired, active)
    return answers


def _decide(status: str | None, basis: str | None, stale: bool, expired: bool, active: bool) -> Answer:
    if status is None:
        status = Status.NEVER_ASKED.value
    elif status in _ALLOWED and basis == _CONSENT:
        if expired:
            return Answer(False, _EXPIRED, VALIDITY_ELAPSED)
        if stale:
            return Answer(False, RECONSENT_REQUIRED, RECONSENT_REQUIRED)
    if not active:
        return Answer(False, status, CHANNEL_INACTIVE)
    return Answer(status in _ALLOWED, status, status)


_ANSWERS = _build_answers()


def answer_from_flags(status: str | None, basis: str | None, stale: bool, expired: bool,
                      active: bool = True) -> Answer:
    """The answer for a known contact's state, given whether its consent is past the
    re-consent cutoff (``stale``) and past its validity (``expired``). ``status`` None: never asked.

    A lookup of answers decided once (``_decide``): cheap enough for every row of a bulk check.
    """
    try:
        return _ANSWERS[status, basis, bool(stale), bool(expired), active]
    except KeyError:  # a status or basis outside the vocabulary: decided, never allowed
        answer = _decide(status, basis, bool(stale), bool(expired), active)
        return Answer(False, answer.status, answer.reason)


def unknown_answer(suppressed: bool = False, block: Block | None = None) -> Answer:
    """A contact the center does not know; ``suppressed``: one erased on request, its address on the list.

    The write paths keep a suppressed address off every subject, so it only
    ever names no one: the answer says why the center does not know it.
    """
    return Answer(False, SUPPRESSED, SUPPRESSED) if suppressed else blocked(Answer(False, UNKNOWN, UNKNOWN), block)


def consent_answer(state: StateLike | None, rules: ChannelRules, at: datetime, block: Block | None = None) -> Answer:
    """THE consent answer for ``state`` (None: the contact is unknown) under ``rules`` at ``at``.

    A state whose ``status`` is None is a known contact never asked on the channel.
    ``block``: a suppression list or an undeliverable address (``block_for``).
    """
    if state is None:
        return unknown_answer(block=block)
    status, changed_at = state.status, state.changed_at
    if status is None or changed_at is None:
        return blocked(answer_from_flags(status, state.basis, False, False, rules.active), block)
    cutoff = reconsent_cutoff(rules, at)
    return blocked(answer_from_flags(status, state.basis, cutoff is not None and changed_at < cutoff,
                                     validity_elapsed(changed_at, rules.validity_months, at), rules.active), block)


@dataclass(frozen=True)
class State:
    """A state to ask about: a ConsentState, an event's outcome, or a row's columns."""

    status: str | None
    basis: str | None
    changed_at: datetime | None


def event_answer(status: str, basis: str | None, occurred_at: datetime, rules: ChannelRules) -> Answer:
    """The answer for the state an event produced, at the event's own moment.

    What webhooks and the exports carry: it depends on the ledger alone, so an
    export stays byte-stable. Whether the channel is in use is configuration,
    not ledger (no history of it is kept), so it is left out here; the checks,
    the feed and a subject's consents, which answer about now, apply it.
    At its own moment a grant is never past its validity (at least a month)
    nor before a re-consent cutoff (a material version in force by
    ``occurred_at - grace``): so this is ``status in ALLOWED_STATUSES``, as
    the export's SQL writes it (``allowed_at_own_moment``); a test holds the two together.
    """
    return consent_answer(State(status, basis, occurred_at),
                          ChannelRules(True, rules.requires_reconsent, rules.validity_months,
                                       rules.material_dates, rules.grace), occurred_at)


def allowed_at_own_moment(status: str) -> bool:
    """``event_answer(...).allowed`` without the rules: what the export's SQL computes."""
    return status in _ALLOWED


ALLOWED_AT_OWN_MOMENT = tuple(sorted(_ALLOWED))
