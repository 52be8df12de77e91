"""Channels: adding one with its texts, defaults and validity; re-consent; deactivating one; naming partners."""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from consent_center.check.channels import forget_channels
from consent_center.models import Channel
from consent_center.models.vocabulary import Basis, Medium, Status

CODE_RE = re.compile(r"^[a-z][a-z0-9_]{1,39}$")
LOCALES = ("fr", "nl", "en")
# A list the person can read beside a switch; a name as a company signs it.
MAX_PARTNERS, MAX_PARTNER_NAME = 20, 100


class ChannelError(ValueError):
    """A channel that cannot be created as asked; the reason is a short code (and the locale at fault, if any)."""

    def __init__(self, reason: str, locale: str | None = None) -> None:
        super().__init__(reason)
        self.locale = locale


ELECTRONIC = (Medium.EMAIL, Medium.SMS)


def all_channels(session: Session) -> list[Channel]:
    return list(session.scalars(select(Channel).order_by(Channel.active.desc(), Channel.position, Channel.code)))


def find_channel(session: Session, code: str) -> Channel | None:
    return session.scalars(select(Channel).where(Channel.code == code)).first()


def create_channel(session: Session, *, code: str, names: dict[str, str], purposes: dict[str, str],
                   default_status: str, default_basis: str, validity_months: int | None,
                   commercial: bool = True, medium: str = Medium.EMAIL, shares_with_partners: bool = False,
                   partners: Mapping[str, Iterable[str]] | None = None) -> Channel:
    """Add a channel at the end of the list.

    Consent is never a default (CJEU Planet49): a channel active by default
    rests on legitimate interest or the soft opt-in. A channel that passes
    the person's contact details to partners rests on neither: it starts
    off for everyone, and names its partners in every language.
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
    named = partner_lists(partners)
    if shares_with_partners:
        if (default_status, default_basis) != (Status.NEVER_ASKED, Basis.CONSENT):
            raise ChannelError("partners_default")
        _refuse_unnamed(named)
    elif any(named.values()):
        raise ChannelError("partners_not_shared")
    if default_status == Status.GRANTED and default_basis == Basis.LEGITIMATE_INTEREST and medium in ELECTRONIC:
        # ePrivacy art. 13 (CPCE L34-5, WER XII.13, Tw 11.7): e-mail and SMS to individuals need
        # consent or, for customers, the soft opt-in; legitimate interest alone is not enough.
        raise ChannelError("electronic_legitimate_interest")
    position = (session.scalar(select(func.max(Channel.position))) or 0) + 10
    channel = Channel(code=code, names=names, purposes=purposes, default_status=default_status,
                      default_basis=default_basis, validity_months=validity_months, commercial=commercial,
                      medium=medium, active=True, position=position, shares_with_partners=shares_with_partners,
                      partners=named if shares_with_partners else {})
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


def partner_lists(partners: Mapping[str, Iterable[str]] | None) -> dict[str, list[str]]:
    """The partners' names per locale, trimmed, in the order given, without blanks or repeats.

    Refuses (``ChannelError``) a name longer than ``MAX_PARTNER_NAME`` or a
    list longer than ``MAX_PARTNERS``, naming the locale.
    """
    named: dict[str, list[str]] = {}
    for locale in LOCALES:
        names: list[str] = []
        for name in (partners or {}).get(locale) or ():
            name = " ".join(name.split())
            if len(name) > MAX_PARTNER_NAME:
                raise ChannelError("partner_name", locale)
            if name and name not in names:
                names.append(name)
        if len(names) > MAX_PARTNERS:
            raise ChannelError("partners_many", locale)
        named[locale] = names
    return named


def _refuse_unnamed(named: Mapping[str, list[str]]) -> None:
    """A consent to sharing is informed only if the person reads who receives their details, in their language."""
    for locale in LOCALES:
        if not named.get(locale):
            raise ChannelError("partners_missing", locale)


def set_partners(session: Session, channel: Channel, partners: Mapping[str, Iterable[str]]) -> bool:
    """Name the partners of a channel that shares with them, in every language; return whether anything changed.

    Only a channel made to share: one made without partners cannot start
    sharing, since the consents it holds named none; and only fewer partners,
    for the same reason.
    """
    if not channel.shares_with_partners:
        raise ChannelError("partners_not_shared")
    named = partner_lists(partners)
    _refuse_unnamed(named)
    for locale, names in named.items():
        if not set(names) <= set(channel.partners.get(locale, [])):
            # A consent names the partners it was given for (GDPR art. 7, EDPB 05/2020): one added
            # later was never agreed to. Partners may leave; a new one needs a new purpose.
            raise ChannelError("partners_added", locale)
    if named == channel.partners:
        return False
    channel.partners = named
    session.flush()
    return True
