"""The W3C Data Privacy Vocabulary terms the export writes for our statuses and bases."""
from __future__ import annotations

from consent_center.models.vocabulary import Basis, EventType, Status

DPV = "https://w3id.org/dpv#"
DPV_STATUS = {
    Status.GRANTED: "dpv:ConsentGiven",
    Status.WITHDRAWN: "dpv:ConsentWithdrawn",
    Status.REFUSED: "dpv:ConsentRefused",
    Status.EXPIRED: "dpv:ConsentExpired",
    Status.NEVER_ASKED: "dpv:ConsentUnknown",
    # Restriction (GDPR art. 18) has no DPV status of its own: it is not valid for processing.
    Status.RESTRICTED: "dpv:ConsentStatusInvalidForProcessing",
}
RENEWED = "dpv:RenewedConsentGiven"
UNKNOWN = "dpv:ConsentUnknown"
DPV_LEGAL_BASIS = {
    Basis.CONSENT: "dpv:Consent",
    # The soft opt-in (ePrivacy art. 13(2)) rests on GDPR art. 6(1)(f).
    Basis.SOFT_OPT_IN: "dpv:LegitimateInterest",
    Basis.LEGITIMATE_INTEREST: "dpv:LegitimateInterest",
}


def dpv_status(status: str, event_type: str | None = None) -> str:
    """Return the W3C DPV consent status of a ledger status.

    A confirmation of the same grant (event ``renewed``: re-consent, or a
    consent confirmed before it lapses) is ``RenewedConsentGiven``; a grant
    that moves a soft opt-in to consent is ``ConsentGiven`` (event ``given``).
    """
    if status == Status.GRANTED and event_type == EventType.RENEWED:
        return RENEWED
    return DPV_STATUS.get(status, UNKNOWN)
