"""Importing an external suppression list: a national opt-out register or a Robinson list, from a file.

The file holds one identifier a line: an e-mail address, or a phone number in
international (+33 6 12 34 56 78) or national form (06 12 34 56 78, read in
``region``); a first line that is neither is taken as a header, blank lines
are skipped. Every line is checked before anything is written: one that is
neither fails the import, naming its line, and nothing is written. A list
imported again under the same name has its entries replaced, in the same
transaction: the new extract wholly, or the old one wholly.

Only digests are kept (``subjects.channel_suppression``): the file itself is
not stored.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date

from flask import current_app
from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from consent_center.addresses import (
    AddressError,
    fingerprints,
    normalise_email,
    normalise_phone,
    suppression_salt,
)
from consent_center.check.channels import lists_changed
from consent_center.check.lookup_addresses import normalise_for_lookup
from consent_center.clock import utcnow
from consent_center.models import Channel, SuppressionEntry, SuppressionList
from consent_center.models.vocabulary import Medium

ERRORS_SHOWN = 20
_BATCH = 10_000
NAME_LENGTH = 100


class ListImportError(ValueError):
    """The list cannot be imported; ``errors`` names each line (up to ``ERRORS_SHOWN``)."""

    def __init__(self, message: str, errors: list[tuple[int, str]] | None = None) -> None:
        super().__init__(message)
        self.errors = errors or []


@dataclass
class ListImport:
    name: str
    medium: str
    entries: int
    lines: int
    replaced: int | None  # the entries the list had before (None: a new list)


def medium_of(session: Session, channel_or_medium: str) -> str:
    """The medium a list given ``--channel`` applies to: a channel's code (its medium) or a medium itself."""
    value = (channel_or_medium or "").strip()
    medium = session.scalars(select(Channel.medium).where(Channel.code == value)).first()
    if medium is not None:
        return medium
    if value in {m.value for m in Medium}:
        return value
    raise ListImportError(f"{value!r} is neither a channel code nor a medium "
                          f"({', '.join(m.value for m in Medium)})")


def read_identifiers(lines: Iterable[str], region: str,
                     progress: Callable[[int], None] | None = None) -> tuple[list[str], int]:
    """The stored form of every identifier of the file, in order, and the number of lines read.

    Raises ListImportError naming the lines that are neither an e-mail address
    nor a phone number (a header is allowed on the first line only).
    """
    stored, errors, count, bad = [], [], 0, 0
    for number, line in enumerate(lines, start=1):
        count = number
        if progress is not None:
            progress(1)
        value = line.strip().strip('"').strip()
        if not value:
            continue
        try:
            stored.append(_identifier(value, region))
        except AddressError as exc:
            if number == 1 and not any(ch.isdigit() for ch in value) and "@" not in value:
                continue  # a header ("email", "numero", "telefoonnummer")
            bad += 1
            if len(errors) < ERRORS_SHOWN:
                errors.append((number, f"{value[:60]!r}: {exc}"))
    if bad:
        more = f" (the first {len(errors)} shown)" if bad > len(errors) else ""
        lines = "1 line is" if bad == 1 else f"{bad} lines are"
        raise ListImportError(f"{lines} neither an e-mail address nor a phone number{more}; "
                              f"nothing was imported", errors)
    return stored, count


def _identifier(value: str, region: str) -> str:
    if "@" in value:
        stored = normalise_for_lookup(value)
        if stored is None:
            normalise_email(value)  # raises with the reason
        return stored
    return normalise_phone(value, region)


def import_list(session: Session, lines: Iterable[str], *, name: str, medium: str, list_date: date | None,
                valid_until: date | None, customers_exempt: bool, region: str,
                progress: Callable[[int], None] | None = None) -> ListImport:
    """Create the external list ``name`` or replace its entries with the file's; flushed, not committed."""
    name = " ".join((name or "").split())
    if not name or len(name) > NAME_LENGTH:
        raise ListImportError(f"a list needs a name of 1 to {NAME_LENGTH} characters")
    today = utcnow().date()
    list_date = list_date or today
    if valid_until is not None and valid_until < list_date:
        raise ListImportError(f"valid until {valid_until} is before the list's date {list_date}")
    found = session.scalars(select(SuppressionList).where(SuppressionList.name == name)).first()
    if found is not None and found.source != "external":
        raise ListImportError(f"{name!r} is a built-in list ({found.source}): it is not imported")
    stored, count = read_identifiers(lines, region, progress)
    digests = list(dict.fromkeys(fingerprints(stored, _salt())))
    now, replaced = utcnow(), None
    if found is None:
        found = SuppressionList(name=name, source="external", created_at=now)
        session.add(found)
    else:
        replaced = found.entry_count
        session.execute(delete(SuppressionEntry).where(SuppressionEntry.list_id == found.id))
    found.medium, found.list_date, found.valid_until = medium, list_date, valid_until
    found.customers_exempt, found.updated_at, found.entry_count = bool(customers_exempt), now, len(digests)
    session.flush()
    lists_changed(session)  # a new list, or one whose medium changed: the check asks that medium's lists
    for start in range(0, len(digests), _BATCH):
        session.execute(insert(SuppressionEntry),
                        [{"list_id": found.id, "digest": d} for d in digests[start:start + _BATCH]])
    session.flush()
    return ListImport(name, medium, len(digests), count, replaced)


def _salt() -> str:
    return suppression_salt(current_app.config)


def all_lists(session: Session) -> list[SuppressionList]:
    return list(session.scalars(select(SuppressionList).order_by(SuppressionList.name)))


def expired_lists(session: Session, today: date | None = None) -> list[SuppressionList]:
    """The lists past their validity: they no longer apply, and must be imported afresh (a new extract)."""
    today = today or utcnow().date()
    return [found for found in all_lists(session) if not found.in_force(today)]
