"""Postmark's bounce, spam complaint and delivery webhooks.

Postmark signs nothing. Its documented ways to protect a webhook are HTTP
basic auth credentials in the webhook's URL and custom headers set on the
webhook: the hook's secret is accepted as either, the basic auth password
(any user name) or the value of the ``X-Consent-Hook-Secret`` header.
Postmark sends no signed moment, so a repeated request is caught by its
record's ID alone.

https://postmarkapp.com/developer/webhooks/webhooks-overview
https://postmarkapp.com/developer/api/bounce-api#bounce-types
"""
from __future__ import annotations

from consent_center.inbound.mail.feedback import (Feedback, Kind, Malformed, Notice, diagnostic, json_body, moment,
                                                  text_field)

# Postmark's bounce types, by what they say of the address. The others (AutoResponder,
# Unsubscribe, Subscribe, AddressChange, SpamNotification, ManuallyDeactivated, DMARCPolicy,
# TemplateRenderingFailed, …) say nothing of whether the address receives mail: left alone.
HARD_TYPES = frozenset({"HardBounce", "BadEmailAddress"})
SOFT_TYPES = frozenset({"SoftBounce", "Transient", "DnsError", "Blocked"})


def parse(body: bytes) -> Notice:
    """Read one Postmark webhook record into a Notice; Malformed when it is not one."""
    record = json_body(body)
    if not isinstance(record, dict):
        raise Malformed("a Postmark webhook sends one JSON object")
    record_type = text_field(record, "RecordType")
    if record_type == "Delivery":
        message_id = text_field(record, "MessageID")
        at = moment(record.get("DeliveredAt"), what="DeliveredAt")
        item = Feedback(Kind.DELIVERY, text_field(record, "Recipient"), at, message_id=message_id,
                        diagnostic=diagnostic(record.get("Details")))
        # One message may be delivered to several recipients: the moment tells them apart
        # without putting an address into the key.
        return Notice(key=f"Delivery:{message_id}:{at.isoformat()}", sent_at=None, items=(item,))
    if record_type not in ("Bounce", "SpamComplaint"):
        # Opens, clicks, subscription changes: accepted (Postmark would retry a refusal), not acted on.
        return Notice(key=f"{record_type}:{text_field(record, 'ID', required=False) or text_field(record, 'MessageID')}",
                      sent_at=None, ignored=(record_type,))
    record_id = text_field(record, "ID")
    bounce_type = text_field(record, "Type", required=False) or record_type
    kind = _kind(record_type, bounce_type)
    key = f"{record_type}:{record_id}"
    if kind is None:
        return Notice(key=key, sent_at=None, ignored=(bounce_type,))
    item = Feedback(kind, text_field(record, "Email"), moment(record.get("BouncedAt"), what="BouncedAt"),
                    message_id=text_field(record, "MessageID", required=False), event_id=record_id,
                    diagnostic=diagnostic(bounce_type, record.get("Description"), record.get("Details")))
    return Notice(key=key, sent_at=None, items=(item,))


def _kind(record_type: str, bounce_type: str) -> Kind | None:
    if record_type == "SpamComplaint" or bounce_type == "SpamComplaint":
        return Kind.COMPLAINT
    if bounce_type in HARD_TYPES:
        return Kind.HARD_BOUNCE
    if bounce_type in SOFT_TYPES:
        return Kind.SOFT_BOUNCE
    return None
