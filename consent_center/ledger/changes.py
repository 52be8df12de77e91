"""What a submitted status is for one channel: a change (with its basis and event type) or nothing.

``change_of`` is THE decision, called for every channel of every submission
by ``chain_events``, which ``record_change`` and ``ledger.bulk.record_many``
both run: a single change, an import and the benchmark's seed decide alike.
"""
from __future__ import annotations

from dataclasses import dataclass

from consent_center.models.vocabulary import Basis, EventType, Status

_EVENT_TYPES = {
    Status.GRANTED: EventType.GIVEN,
    Status.WITHDRAWN: EventType.WITHDRAWN,
    Status.REFUSED: EventType.REFUSED,
    Status.EXPIRED: EventType.EXPIRED,
    Status.RESTRICTED: EventType.RESTRICTED,
    Status.NEVER_ASKED: EventType.DEFAULT,
}
_BASES = frozenset(str(b) for b in Basis)


class UnknownBasis(ValueError):
    """A change names a legal basis outside the vocabulary."""


@dataclass(frozen=True)
class HeldState:
    """A channel's state as a change finds it."""

    status: str
    basis: str


@dataclass(frozen=True)
class Change:
    """What one channel's event records: its status, basis and event type, and the status it leaves."""

    status: str
    previous_status: str | None
    basis: str
    event_type: str


def change_of(state: HeldState | None, status: str, asked_basis: str | None, *, renew: bool = False,
              event_type: EventType | None = None) -> Change | None:
    """Return the change that ``status`` (on ``asked_basis``, if named) makes to ``state``; None if none.

    A grant over a grant on another legal basis is a change: an explicit
    consent over the soft opt-in is a consent given, with its event, receipt
    and evidence. ``renew`` records the same status again (a confirmation):
    a renewal, unless the basis changes with it, which is a consent given.
    """
    previous = state.status if state else None
    basis = basis_for(status, asked_basis, state)
    same = previous == status and (status != Status.GRANTED or basis == state.basis)
    if same and not renew:
        return None
    kind = event_type or (EventType.RENEWED if same else _EVENT_TYPES[Status(status)])
    return Change(status, previous, basis, kind)


def basis_for(status: str, asked: str | None, state: HeldState | None) -> str:
    """The legal basis an event of ``status`` records, ``asked`` or the one it follows from."""
    if asked and asked not in _BASES:
        raise UnknownBasis(f"unknown legal basis {asked!r}")
    if status == Status.GRANTED:
        if state is not None and state.status == Status.GRANTED and state.basis == Basis.CONSENT:
            # A consent the person gave is not replaced by a basis that asks less
            # of them (an older CRM file's soft opt-in): it would stop lapsing.
            return Basis.CONSENT
        return asked or Basis.CONSENT
    if asked:
        return asked
    # A withdrawal or expiry ends whatever basis the channel rested on.
    return state.basis if state else Basis.CONSENT
