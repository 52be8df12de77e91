"""Addresses the mail providers say are undeliverable: a hard bounce, or soft bounces in a row.

Not a consent change (no ledger event): the person's wishes are the same, but
mail to the address is lost. The consent check answers ``undeliverable`` on
e-mail channels (``check.blocks``) and the person's space asks them to
correct their address. Only the address's digest is kept (as on the
suppression list), so a corrected address (another digest) is not marked;
the provider's diagnostic is kept short, with the address taken out, and
the soft bounces since the last delivery as keyed digests of the messages'
ids (so a message reported twice counts once).
"""
from __future__ import annotations

import re
from datetime import datetime

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from consent_center.addresses import AddressError, fingerprint, normalise_email, suppression_salt
from consent_center.check.channels import lists_changed
from consent_center.models import UndeliverableAddress
from consent_center.subjects.suppression import address_digest

UNDELIVERABLE, BOUNCING = "undeliverable", "bouncing"
HARD_BOUNCE, SOFT_BOUNCES = "hard_bounce", "soft_bounces"
DETAIL_LENGTH = 200
MESSAGE_DIGEST_LENGTH = 16
# Anything shaped like an address, so a diagnostic ("550 5.1.1 <a@b.c>: user unknown") keeps none.
_ADDRESS_LIKE = re.compile(r"<?[^\s<>@]+@[^\s<>]+>?")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


def scrubbed_detail(detail: str | None, address: str) -> str | None:
    """The provider's diagnostic without any address in it (nor the local part alone), one short line."""
    if not detail:
        return None
    text = _ADDRESS_LIKE.sub("<address>", _CONTROL.sub(" ", detail))
    local = address.split("@", 1)[0]
    if len(local) >= 3:
        text = re.sub(re.escape(local), "<address>", text, flags=re.IGNORECASE)
    text = " ".join(text.split())
    return text[:DETAIL_LENGTH] or None


def _mark_of(session: Session, digest: str) -> UndeliverableAddress:
    found = session.scalars(select(UndeliverableAddress).where(UndeliverableAddress.digest == digest)
                            .with_for_update()).first()
    if found is not None:
        return found
    try:
        with session.begin_nested():
            found = UndeliverableAddress(digest=digest, state=BOUNCING, soft_bounces=0)
            session.add(found)
    except IntegrityError:  # a concurrent bounce created it
        found = session.scalars(select(UndeliverableAddress).where(UndeliverableAddress.digest == digest)
                                .with_for_update()).one()
    return found


def _message_digest(provider: str, message: str | None) -> str | None:
    """A short keyed digest of the provider's id of the message that bounced (None: no id given): keyed as
    the lists' digests are, so the id kept in the inbound message's evidence cannot be matched to it."""
    if not message:
        return None
    return fingerprint(f"{provider}\0{message}", suppression_salt(current_app.config))[:MESSAGE_DIGEST_LENGTH]


def record_bounce(session: Session, address: str, *, hard: bool, at: datetime, detail: str | None,
                  provider: str, message: str | None = None) -> None:
    """A bounce of ``address``: a hard one, or the CONSENT_SOFT_BOUNCE_LIMIT-th soft one in a row,
    marks it undeliverable (a mark a later soft bounce or delivery does not take back). Flushed.

    Soft bounces count messages: one the provider reports twice (a temporary failure, then giving
    up on it) counts once, by its id (``message``, the provider's); without an id, every report counts.
    """
    stored = normalise_email(address)
    mark = _mark_of(session, address_digest(stored))
    was = mark.state
    mark.last_bounce_at = at
    mark.detail = scrubbed_detail(detail, stored)
    mark.provider = (provider or "")[:40] or None
    if hard:
        mark.state, mark.reason, mark.marked_at = UNDELIVERABLE, HARD_BOUNCE, mark.marked_at or at
    else:
        limit = current_app.config["SOFT_BOUNCE_LIMIT"]
        counted = list(mark.soft_bounce_messages or ())
        digest = _message_digest(provider, message)
        if digest is None or digest not in counted:
            mark.soft_bounces += 1
            if digest is not None:  # the last ones are enough: past the limit the address is marked
                mark.soft_bounce_messages = (counted + [digest])[-max(limit, 1):]
        if mark.state != UNDELIVERABLE and mark.soft_bounces >= limit:
            mark.state, mark.reason, mark.marked_at = UNDELIVERABLE, SOFT_BOUNCES, at
    session.flush()
    if mark.state == UNDELIVERABLE and was != UNDELIVERABLE:
        lists_changed(session)  # the check now asks the e-mail channels' undeliverable marks


def record_delivery(session: Session, address: str, *, at: datetime) -> None:
    """A message delivered to ``address``: its soft bounces are no longer in a row; a hard bounce stays
    (a provider's "delivered" for a dead mailbox is not proof it lives: the person corrects it). Flushed."""
    try:
        digest = address_digest(normalise_email(address))
    except AddressError:
        return
    mark = session.scalars(select(UndeliverableAddress).where(UndeliverableAddress.digest == digest)
                           .with_for_update()).first()
    if mark is None:
        return
    mark.soft_bounces, mark.soft_bounce_messages = 0, None
    if mark.state == BOUNCING or mark.reason == SOFT_BOUNCES:
        # Soft bounces were a full mailbox or a server down: a delivery shows the address works.
        mark.state, mark.reason, mark.marked_at = BOUNCING, None, None
    session.flush()


def undeliverable_among(session: Session, addresses: list[str]) -> dict[str, str]:
    """Which of ``addresses`` (any form) are undeliverable, and why (``hard_bounce``, ``soft_bounces``); one query."""
    by_digest = {}
    for address in addresses:
        try:
            by_digest[address_digest(normalise_email(address))] = address
        except AddressError:
            continue
    if not by_digest:
        return {}
    rows = session.execute(select(UndeliverableAddress.digest, UndeliverableAddress.reason).where(
        UndeliverableAddress.digest.in_(list(by_digest)), UndeliverableAddress.state == UNDELIVERABLE))
    return {by_digest[digest]: reason for digest, reason in rows}


def forget_bounce_details(session: Session, addresses: list[str]) -> None:
    """On erasure: the diagnostics kept for these addresses go (they could name the person other than by
    address), and the digests of the messages that bounced; the marks stay, the address's digest only, as
    the suppression list keeps them. Flushed."""
    digests = []
    for address in addresses:
        try:
            digests.append(address_digest(normalise_email(address)))
        except AddressError:
            continue
    if digests:
        session.execute(update(UndeliverableAddress).where(UndeliverableAddress.digest.in_(digests))
                        .values(detail=None, soft_bounce_messages=None))
        session.flush()
