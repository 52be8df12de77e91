"""Reading the auditor's GET forms: a moment in the display time zone."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timezone
from typing import Mapping
from zoneinfo import ZoneInfo

from consent_center.clock import utcnow


@dataclass(frozen=True)
class AsOf:
    """The moment asked for (UTC), and the form's values to show again."""

    at: datetime
    date: str
    time: str
    error: bool = False


def parse_as_of(args: Mapping[str, str], zone: str) -> AsOf:
    """Read ``date`` (YYYY-MM-DD) and ``time`` (HH:MM, default end of day) in ``zone``; now if absent.

    A date or time that is not one, or a moment that in UTC falls outside
    the years 1 to 9999, is an error: now, and the form shown again (a 400).
    """
    day_text = (args.get("date") or "").strip()
    time_text = (args.get("time") or "").strip()
    if not day_text:
        return AsOf(utcnow(), "", time_text)
    try:
        day = date.fromisoformat(day_text)
        moment = time.fromisoformat(time_text) if time_text else time(23, 59, 59, 999999)
    except ValueError:
        return AsOf(utcnow(), day_text, time_text, error=True)
    local = datetime.combine(day, moment).replace(tzinfo=ZoneInfo(zone))
    try:
        return AsOf(local.astimezone(timezone.utc), day_text, time_text)
    except OverflowError:  # 0001-01-01 east of UTC, 9999-12-31 west of it: no such moment in UTC
        return AsOf(utcnow(), day_text, time_text, error=True)
