"""A channel that shares the person's contact details with partners: only an explicit consent grants it.

The soft opt-in lets a company write to its own customers about its own
similar products; it never covers handing their details to third parties
(France: CPCE art. L34-5; Belgium: WER/CDE art. XII.13 and the royal
decree of 4 April 2003; the Netherlands: Telecommunicatiewet art. 11.7),
and legitimate interest does not either for marketing by others. So a
grant on such a channel on any basis but ``consent`` is refused here, for
every path that writes consent: ``chain_events`` calls ``refuse_sharing_without_consent``
for each channel of each submission, single and bulk alike. The channel's
default (``Channel.default_for``) and its configuration
(``policies.channels``) keep it off too; this is the last word.
"""
from __future__ import annotations

from consent_center.ledger.errors import LedgerError
from consent_center.models import Channel
from consent_center.models.vocabulary import Basis, Status


class SharingWithoutConsent(LedgerError):
    """A grant on a channel that shares with partners, on a basis other than explicit consent."""

    def __init__(self, code: str, basis: str) -> None:
        super().__init__(f"channel {code} passes the person's contact details to partners: only an explicit "
                         f"consent can turn it on, not {basis}")
        self.code = code
        self.basis = basis


def shares_without_consent(channel: Channel, status: str, basis: str) -> bool:
    """Whether granting ``channel`` on ``basis`` would pass the person's details to partners without their consent."""
    return bool(channel.shares_with_partners) and status == Status.GRANTED and basis != Basis.CONSENT


def refuse_sharing_without_consent(channel: Channel, status: str, basis: str) -> None:
    """Refuse (``SharingWithoutConsent``) a grant the person did not consent to on a channel that shares."""
    if shares_without_consent(channel, status, basis):
        raise SharingWithoutConsent(channel.code, basis)
