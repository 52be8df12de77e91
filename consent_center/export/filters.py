"""The filters of the ledger export, parsed and checked in one place.

The audit page, the command line and the API all build an
``ExportFilters`` from text (query arguments or options) with
``ExportFilters.parse``; ``resolve`` then checks the names against the
database. Times are ISO 8601; a time without offset, or a bare date, is
UTC. ``since`` is inclusive; ``until`` is exclusive, except that a bare
date means "to the end of that day".
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date, datetime, time, timedelta, timezone
from typing import Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from consent_center.models import Channel, PolicyVersion, Subject
from consent_center.models.vocabulary import Source

FORMATS = ("csv", "jsonl", "jsonld")


class FilterError(ValueError):
    """A filter that cannot be used; ``field`` names it, ``reason`` says why in one word."""

    def __init__(self, field: str, reason: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.reason = reason


@dataclass(frozen=True)
class ExportFilters:
    """Which events to export; every field is optional."""

    since: datetime | None = None
    until: datetime | None = None
    channel: str | None = None
    subject: str | None = None
    policy_version: str | None = None
    source: str | None = None

    @classmethod
    def parse(cls, args: Mapping[str, str | None]) -> ExportFilters:
        """Build filters from text arguments (names as the fields, ``policy-version`` too)."""
        def text(name: str) -> str | None:
            value = args.get(name)
            if value is None and "_" in name:
                value = args.get(name.replace("_", "-"))
            value = (value or "").strip()
            return value or None

        source = text("source")
        if source is not None and source not in {str(s) for s in Source}:
            raise FilterError("source", "unknown", f"unknown source {source!r}")
        filters = cls(
            since=_parse_time("since", text("since"), end_of_day=False),
            until=_parse_time("until", text("until"), end_of_day=True),
            channel=text("channel"), subject=text("subject"),
            policy_version=text("policy_version"), source=source,
        )
        if filters.since and filters.until and filters.since >= filters.until:
            raise FilterError("until", "order", "until must come after since")
        return filters

    def as_args(self) -> dict[str, str]:
        """Return the filters as query arguments (to keep them across links)."""
        args = {}
        for field in fields(self):
            value = getattr(self, field.name)
            if value is not None:
                args[field.name] = _format_time(value) if isinstance(value, datetime) else value
        return args

    def resolve(self, session: Session) -> ResolvedFilters:
        """Return the filters with database ids; raise FilterError for an unknown name."""
        def lookup(field: str, column, key_column, value):
            if value is None:
                return None
            found = session.scalar(select(column).where(key_column == value))
            if found is None:
                raise FilterError(field, "unknown", f"unknown {field.replace('_', ' ')} {value!r}")
            return found

        return ResolvedFilters(
            filters=self,
            channel_id=lookup("channel", Channel.id, Channel.code, self.channel),
            subject_id=lookup("subject", Subject.id, Subject.public_id, self.subject),
            policy_version_id=lookup("policy_version", PolicyVersion.id, PolicyVersion.label,
                                     self.policy_version),
        )


@dataclass(frozen=True)
class ResolvedFilters:
    filters: ExportFilters
    channel_id: int | None
    subject_id: int | None
    policy_version_id: int | None


def parse_format(value: str | None) -> str:
    """Return the export format named by ``value`` (csv, jsonl or jsonld)."""
    value = (value or "").strip().lower()
    if value not in FORMATS:
        raise FilterError("format", "unknown", f"format must be one of {', '.join(FORMATS)}")
    return value


def _parse_time(field: str, value: str | None, *, end_of_day: bool) -> datetime | None:
    """An ISO 8601 date or time, in UTC; FilterError if it is not one or falls outside years 1 to 9999."""
    if value is None:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        day = None
    try:
        if day is not None:  # a bare date: that day in UTC
            moment = datetime.combine(day, time(), timezone.utc)
            return moment + timedelta(days=1) if end_of_day else moment
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            raise FilterError(field, "time", f"{field}: {value!r} is not an ISO 8601 date or time") from None
        return moment.astimezone(timezone.utc) if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
    except OverflowError:  # the day after 9999-12-31, or a time zone's offset past either end
        raise FilterError(field, "time", f"{field}: {value!r} is out of range: in UTC it falls "
                                         "outside the years 1 to 9999") from None


def _format_time(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")
