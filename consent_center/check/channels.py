"""The channels as the checks read them: their ids and the rules of their answer, cached.

The consent check must not pay a query for what rarely changes: the channel
ids by code, which channels are out of use or require re-consent, each
channel's validity and the dates of the material policy versions are read
once and kept a minute per process (``CHANNELS_FRESH``), or until
``forget_channels`` (a channel or a policy version changed here). So is, per
channel, whether any suppression list of its medium exists (or, for e-mail,
an address marked undeliverable): the bulk check hashes the contacts asked
for the lists only where one does (``check.blocks``); and whether the erasure
list holds anything: the checks by subject or e-mail on a channel reaching a
phone ask it about the subjects' numbers only where it does.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import current_app, has_app_context
from sqlalchemy import exists, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from consent_center.after_commit import run_after_commit
from consent_center.check.answer import ChannelRules
from consent_center.clock import utcnow
from consent_center.models import (
    Channel,
    PolicyVersion,
    SuppressedAddress,
    SuppressionList,
    UndeliverableAddress,
)

CHANNELS_FRESH = timedelta(minutes=1)
_c, _pv = Channel.__table__, PolicyVersion.__table__
_l, _u, _sa = SuppressionList.__table__, UndeliverableAddress.__table__, SuppressedAddress.__table__
# In the same query: whether the channel's medium has a list, whether any address is marked
# undeliverable, and whether anything was ever erased.
_LISTS = exists().where(_l.c.medium == _c.c.medium).label("lists")
_MARKS = exists().where(_u.c.state == "undeliverable").label("marks")
_ERASURES = exists(select(_sa.c.id)).label("erasures")
CHANNEL_IDS = select(_c.c.code, _c.c.id, _c.c.requires_reconsent, _c.c.active, _c.c.validity_months, _c.c.medium,
                     _LISTS, _MARKS, _ERASURES)
MATERIAL_DATES = select(_pv.c.effective_at).where(_pv.c.material.is_(True)).order_by(_pv.c.effective_at)
CACHE_KEY = "consent_channel_ids"


@dataclass
class _ChannelCodes:
    ids: dict[str, int] = field(default_factory=dict)
    loaded_at: datetime | None = None
    # Ids of the channels that require re-consent after a material change.
    reconsent: frozenset[int] = frozenset()
    # Ids of the channels out of use, and each channel's validity in months.
    inactive: frozenset[int] = frozenset()
    validity: dict[int, int | None] = field(default_factory=dict)
    # Each channel's medium (models.vocabulary.Medium): what kind of address it reaches.
    media: dict[int, str] = field(default_factory=dict)
    # Ids of the channels whose medium has a suppression list; whether any address is marked undeliverable.
    listed: frozenset[int] = frozenset()
    marks: bool = False
    erasures: bool = False  # whether the erasure list holds any address or number
    # When each material policy version came (or comes) into force, oldest first.
    material_dates: list[datetime] = field(default_factory=list)


def _channels(connection: Connection, code: str | None = None) -> _ChannelCodes:
    cache = current_app.extensions.get(CACHE_KEY)
    now = utcnow()
    stale = cache is None or now - cache.loaded_at >= CHANNELS_FRESH
    if stale or (code is not None and code not in cache.ids):
        rows = connection.execute(CHANNEL_IDS).all()
        # A new object, put in place whole: a thread reading the old one never sees half of each.
        cache = current_app.extensions[CACHE_KEY] = _ChannelCodes(
            ids={row.code: row.id for row in rows},
            loaded_at=now,
            reconsent=frozenset(row.id for row in rows if row.requires_reconsent),
            inactive=frozenset(row.id for row in rows if not row.active),
            validity={row.id: row.validity_months for row in rows},
            media={row.id: row.medium for row in rows},
            listed=frozenset(row.id for row in rows if row.lists),
            marks=any(row.marks for row in rows),
            erasures=any(row.erasures for row in rows),
            material_dates=[row.effective_at for row in connection.execute(MATERIAL_DATES)],
        )
    return cache


def channel_id(connection: Connection, code: str) -> int | None:
    """Return the id of channel ``code`` (cached a minute; reloaded on a miss)."""
    return _channels(connection, code).ids.get(code)


def forget_channels() -> None:
    """Drop this process's channel cache (a channel, a policy version or a list's medium changed).

    Other processes see the change within ``CHANNELS_FRESH``.
    """
    if has_app_context():
        current_app.extensions.pop(CACHE_KEY, None)


def lists_changed(session: Session) -> None:
    """A suppression list was created or changed medium, an address was marked undeliverable, or
    one was put on the erasure list: the cache's ``lists``, ``marks`` or ``erasures`` flags are
    stale. Dropped now and again once the transaction commits (a check in between would cache
    what it could not yet see); other processes see it within ``CHANNELS_FRESH``."""
    forget_channels()
    run_after_commit(session, forget_channels)


def channel_rules(connection: Connection, channel_pk: int) -> ChannelRules:
    """The rules the consent answer applies on the channel (from the cache: no query while it is fresh)."""
    cache = _channels(connection)
    return ChannelRules(
        active=channel_pk not in cache.inactive,
        requires_reconsent=channel_pk in cache.reconsent,
        validity_months=cache.validity.get(channel_pk),
        material_dates=cache.material_dates,
        grace=timedelta(days=current_app.config["RECONSENT_GRACE_DAYS"]),
        medium=cache.media.get(channel_pk, "email"),
        lists=channel_pk in cache.listed,
        marks=cache.marks,
        erasures=cache.erasures,
    )


def channel_medium(connection: Connection, channel_pk: int) -> str | None:
    """The medium of the channel (email, sms, post, phone, other), from the cache."""
    return _channels(connection).media.get(channel_pk)
