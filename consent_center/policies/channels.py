"""Channels: adding one with its texts, defaults and validity; re-consent; deactivating one."""
from __future__ import annotations

import re

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from consent_center.check.channels import forget_channels
from consent_center.models import Channel
from consent_center.models.vocabulary import Basis, Medium, Status

CODE_RE = re.compile(r"^[a-z][a-z0-9_]{1,39}$")


class ChannelError(ValueError):
    """A channel that cannot be created as asked; the reason is a short code."""


def all_channels(session: Session) -> list[Channel]:
    return list(session.scalars(select(Channel).order_by(Channel.active.desc(), Channel.position, Channel.code)))


def find_channel(session: Session, code: str) -> Channel | None:
    return session.scalars(select(Channel).where(Channel.code == code)).first()


def create_channel(session: Session, *, code: str, names: dict[str, str], purposes: dict[str, str],
                   default_status: str, default_basis: str, validity_months: int | None,
                   commercial: bool = True, medium: str = Medium.EMAIL) -> Channel:
    """Add a channel at the end of the list.

    Consent is never a default (CJEU Planet49): a channel active by default
    rests on legitimate interest or the soft opt-in.
    """
    if not CODE_RE.match(code):
        raise ChannelError("code")
    if find_channel(session, code) is not None:
        raise ChannelError("taken")
    if default_status not in (Status.GRANTED, Status.NEVER_ASKED) or default_basis not in {str(b) for b in Basis}:
        raise ChannelError("default")
    if default_status == Status.GRANTED and default_basis == Basis.CONSENT:
        raise ChannelError("consent_default")
    if validity_months is not None and validity_months < 1:
        raise ChannelError("validity")
    if medium not in {str(m) for m in Medium}:
        raise ChannelError("medium")
    position = (session.scalar(select(func.max(Channel.position))) or 0) + 10
    channel = Channel(code=code, names=names, purposes=purposes, default_status=default_status,
                      default_basis=default_basis, validity_months=validity_months, commercial=commercial,
                      medium=medium, active=True, position=position)
    session.add(channel)
    session.flush()
    return channel


def deactivate_channel(session: Session, channel: Channel) -> None:
    """Take the channel off the preference pages; its history stays in the ledger."""
    channel.active = False
    session.flush()
    forget_channels()


def set_requires_reconsent(session: Session, channel: Channel, required: bool) -> bool:
    """Say whether grants on the channel lapse for the check API after a material change.

    Return whether anything changed.
    """
    if channel.requires_reconsent == required:
        return False
    channel.requires_reconsent = required
    session.flush()
    forget_channels()
    return True
