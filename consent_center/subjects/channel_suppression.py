"""Suppression lists by medium: national opt-out registers, SMS STOPs, spam complaints.

A list names the identifiers (normalised e-mail addresses, E.164 numbers)
not to be contacted by one medium (``Channel.medium``), keeping only their
HMAC, as the erasure list does (``addresses.fingerprint`` with
``suppression_salt``). The consent check answers ``listed`` for a contact on a
list in force (``check.blocks``). A list applies to a medium rather than one
channel: a register, a STOP or a complaint is about the means of contact, and a
channel added later is covered without importing anything again.

Lists come from a file (``source='external'``: Bloctel, Bel-me-niet, DNCM,
Robinson lists; ``subjects.list_import``) or are built in, created on first
use: ``sms_keyword`` (an SMS STOP from a number no subject has, so that a later
import cannot make it "allowed") and ``complaint`` (a spam complaint).
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from consent_center.check import blocks
from consent_center.check.answer import ChannelRules, block_for
from consent_center.check.channels import lists_changed
from consent_center.clock import utcnow
from consent_center.models import SuppressionEntry, SuppressionList
from consent_center.models.vocabulary import Medium
from consent_center.subjects.suppression import address_digest

SOURCES = ("external", "sms_keyword", "complaint")
# The built-in lists' names, by (source, medium).
BUILT_IN = {("sms_keyword", Medium.SMS.value): "SMS STOP", ("complaint", Medium.EMAIL.value): "Spam complaints"}


def built_in_name(source: str, medium: str) -> str:
    """The name of the built-in list of ``source`` for ``medium``."""
    if source not in ("sms_keyword", "complaint") or medium not in {m.value for m in Medium}:
        raise ValueError(f"no built-in list for source {source!r} and medium {medium!r}")
    return BUILT_IN.get((source, medium)) or f"{source} ({medium})"


def built_in_list(session: Session, source: str, medium: str) -> SuppressionList:
    """The built-in list of ``source`` for ``medium``, created on first use (once, even when two
    transactions ask at the same moment: the loser of the race reads the winner's)."""
    name = built_in_name(source, medium)
    found = session.scalars(select(SuppressionList).where(SuppressionList.name == name)).first()
    if found is not None:
        return found
    now = utcnow()
    try:
        with session.begin_nested():
            found = SuppressionList(name=name, medium=medium, source=source, list_date=now.date(),
                                    valid_until=None, customers_exempt=False, created_at=now, updated_at=now,
                                    entry_count=0)
            session.add(found)
    except IntegrityError:
        found = session.scalars(select(SuppressionList).where(SuppressionList.name == name)).one()
    lists_changed(session)  # the check now asks this medium's lists
    return found


def suppress_on_channel(session: Session, stored: str, medium: str, *, source: str) -> None:
    """Put ``stored`` (a normalised e-mail address or an E.164 number) on the built-in ``source`` list of
    ``medium``, once; flushed, not committed."""
    listed = built_in_list(session, source, medium)
    digest = address_digest(stored)
    exists = select(SuppressionEntry.id).where(SuppressionEntry.list_id == listed.id,
                                               SuppressionEntry.digest == digest)
    if session.scalars(exists).first() is not None:
        return
    try:
        with session.begin_nested():
            session.add(SuppressionEntry(list_id=listed.id, digest=digest))
    except IntegrityError:  # added by a concurrent transaction: it is on the list
        return
    _recount(session, listed)


def lift_on_channel(session: Session, stored: str, medium: str, *, source: str) -> bool:
    """Take ``stored`` off the built-in ``source`` list of ``medium`` (an SMS START from a number no
    subject has); whether it was on it. Flushed, not committed."""
    name = built_in_name(source, medium)
    listed = session.scalars(select(SuppressionList).where(SuppressionList.name == name)).first()
    if listed is None:
        return False
    deleted = session.execute(SuppressionEntry.__table__.delete().where(
        SuppressionEntry.list_id == listed.id, SuppressionEntry.digest == address_digest(stored)))
    if not deleted.rowcount:
        return False
    _recount(session, listed)
    return True


def _recount(session: Session, listed: SuppressionList) -> None:
    # Counted by the database, not incremented here: two hooks at once must not lose one.
    count = select(func.count()).select_from(SuppressionEntry).where(SuppressionEntry.list_id == listed.id)
    session.execute(update(SuppressionList).where(SuppressionList.id == listed.id)
                    .values(entry_count=count.scalar_subquery(), updated_at=utcnow()))
    session.flush()


def lists_naming(session: Session, stored_values: list[str], medium: str, *,
                 customers: frozenset[str] = frozenset(), today: date | None = None) -> dict[str, str]:
    """Which of ``stored_values`` are on a list in force for ``medium``, and that list's name (one query).

    ``customers``: the values that belong to customers, for whom a list that
    exempts them does not apply (``check.answer.block_for``).
    """
    # Only the lists: what else can block (marks, the erasure list) is not asked here.
    found = blocks.lookup(session.connection(), ChannelRules(medium=medium, marks=False, erasures=False),
                          today or utcnow().date(), stored_values)
    named = {}
    for value, listings in found.listings.items():
        block = block_for(listings, None, value in customers)
        if block is not None:
            named[value] = block.detail
    return named


# Lists of objections the person made themself; a register (Bloctel) has its own validity instead.
OBJECTION_LISTS = ("sms_keyword", "complaint")


def forget_objections_taken_before(session: Session, limit: datetime, *, dry_run: bool = False) -> int:
    """Drop the STOPs' and complaints' fingerprints taken before ``limit``; recount their lists."""
    found = session.execute(select(SuppressionEntry.id, SuppressionEntry.list_id).join(SuppressionList).where(
        SuppressionList.source.in_(OBJECTION_LISTS), SuppressionEntry.added_at < limit)).all()
    if found and not dry_run:
        session.execute(delete(SuppressionEntry).where(SuppressionEntry.id.in_([row.id for row in found])))
        for listed in session.scalars(select(SuppressionList).where(
                SuppressionList.id.in_({row.list_id for row in found}))):
            _recount(session, listed)
    return len(found)
