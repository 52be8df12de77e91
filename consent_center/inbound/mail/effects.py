"""What a provider's feedback about an e-mail address does.

- **complaint** (a person pressed "report spam", or an abuse report names
  them): every e-mail channel (medium ``email``) granted to a subject with
  that address is withdrawn through the ledger, for every such subject
  (source ``complaint``, the kept message as evidence). An address no
  subject has goes on the e-mail suppression list, so that a later import
  or API call cannot make it "allowed".
- **hard bounce**, **soft bounce**, **delivery**: told to the address's
  deliverability (``subjects.deliverability``): not a consent change, but
  the check says the address must not be mailed, and why.
- anything else is kept as evidence (``ignored``) and changes nothing.
"""
from __future__ import annotations

from datetime import datetime

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from consent_center.addresses import AddressError, normalise_email
from consent_center.inbound.mail.feedback import Kind
from consent_center.inbound.registry import Handled, Inbound
from consent_center.models import InboundHook, InboundMessage, Subject
from consent_center.models.vocabulary import Medium, Source
from consent_center.subjects.channel_suppression import suppress_on_channel
from consent_center.subjects.deliverability import record_bounce, record_delivery
from consent_center.inbound.withdrawals import withdraw_medium

# The outcomes an e-mail hook's message is kept with.
OUTCOMES = ("complained", "already_withdrawn", "suppressed", "hard_bounce", "soft_bounce", "delivered",
            "ignored", "subscription", "unreadable_address")
MAX_ADDRESS = 320


def handle_email(session: Session, hook: InboundHook, message: InboundMessage, inbound: Inbound) -> Handled:
    """Act on one feedback item (the ``handle`` of every e-mail provider)."""
    data = inbound.data
    if "feedback" not in data:
        return _unacted(data)
    kind = Kind(data["feedback"])
    details = {"feedback": kind.value, "diagnostic": data.get("diagnostic", ""),
               "provider_event": data.get("event_id", ""), "provider_message": data.get("message_id", "")}
    try:
        address = normalise_email(inbound.sender[:MAX_ADDRESS])
    except AddressError:
        return Handled("unreadable_address", None, details)
    at = datetime.fromisoformat(data["at"])
    if kind is Kind.COMPLAINT:
        evidence = {"inbound_message": message.public_id, "hook": hook.public_id, "feedback": kind.value}
        outcome, more = _complaint(session, address, evidence)
        return Handled(outcome, address, details | more)
    if kind is Kind.DELIVERY:
        record_delivery(session, address, at=at)
        return Handled("delivered", address, details)
    record_bounce(session, address, hard=kind is Kind.HARD_BOUNCE, at=at, detail=details["diagnostic"],
                  provider=hook.provider, message=details["provider_message"])
    return Handled(kind.value, address, details)


def _unacted(data) -> Handled:
    note = data.get("note")
    if note:
        # An SNS subscription waiting for its operator: said where they look (the log, the audit page).
        current_app.logger.warning("inbound e-mail hook: %s", note)
        return Handled("subscription", None, {"note": note})
    return Handled("ignored", None, {"ignored": list(data.get("ignored", ()))})


def _complaint(session: Session, address: str, evidence: dict) -> tuple[str, dict]:
    subjects = list(session.scalars(select(Subject).where(Subject.email == address, Subject.erased_at.is_(None))
                                    .order_by(Subject.id)))
    if not subjects:
        suppress_on_channel(session, address, Medium.EMAIL, source=Source.COMPLAINT)
        return "suppressed", {}
    withdrawn = withdraw_medium(session, subjects, Medium.EMAIL, source=Source.COMPLAINT, evidence=evidence)
    details = {"subjects": [s.public_id for s in subjects], "withdrawn": withdrawn}
    return ("complained" if withdrawn else "already_withdrawn"), details
