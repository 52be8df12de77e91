"""The one clock every time-dependent rule reads (tests freeze it; the demo sets it)."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime

# Set only by ``set_to``: the demo records months of history through the real
# services, each at its own moment. A context variable, so it never leaks into
# another thread or request, and is unset again when the block ends.
_set_now: ContextVar[datetime | None] = ContextVar("consent_center_now", default=None)


def utcnow() -> datetime:
    """Return the current time, timezone-aware, in UTC (the moment ``set_to`` set, inside it)."""
    moment = _set_now.get()
    return moment if moment is not None else datetime.now(UTC)


@contextmanager
def set_to(moment: datetime) -> Iterator[datetime]:
    """Inside the block, ``utcnow`` answers ``moment`` (timezone-aware; never later than now).

    For seeding a history through the services as it would have been written
    at the time: a moment in the future would sign receipts and checkpoints
    no real clock could have, so it is refused.
    """
    if moment.tzinfo is None:
        raise ValueError("the clock is set to a timezone-aware moment")
    if moment > datetime.now(UTC):
        raise ValueError("the clock is never set to the future")
    token = _set_now.set(moment.astimezone(UTC))
    try:
        yield moment
    finally:
        _set_now.reset(token)
