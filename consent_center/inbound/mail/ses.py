"""Amazon SES notifications (the Message of an SNS Notification): bounces, complaints, deliveries.

Both of SES's forms are read: identity notifications (``notificationType``)
and configuration set events (``eventType``).

https://docs.aws.amazon.com/ses/latest/dg/notification-contents.html
https://docs.aws.amazon.com/ses/latest/dg/event-publishing-retrieving-sns-contents.html
"""
from __future__ import annotations

from consent_center.inbound.mail.feedback import Feedback, Kind, Malformed, diagnostic, json_body, moment, text_field

BOUNCE_KINDS = {"Permanent": Kind.HARD_BOUNCE, "Transient": Kind.SOFT_BOUNCE, "Undetermined": Kind.SOFT_BOUNCE}
# A complaint's feedback type, when the mailbox provider gave one (RFC 5965): only "abuse"
# is a person saying "spam"; "not-spam", "virus", "fraud" and the rest are not a withdrawal.
COMPLAINT_TYPES = frozenset({"", "abuse"})
# A notification names at most this many recipients (SES: 50 per message).
MAX_RECIPIENTS = 100


def parse(text: str) -> tuple[tuple[Feedback, ...], tuple[str, ...]]:
    """Return the feedback items of an SES notification, and the names of what was left alone."""
    notification = json_body(text.encode("utf-8"))
    if not isinstance(notification, dict):
        raise Malformed("an SES notification is a JSON object")
    name = notification.get("notificationType") or notification.get("eventType")
    mail = notification.get("mail") if isinstance(notification.get("mail"), dict) else {}
    message_id = text_field(mail, "messageId", required=False)
    if name == "Bounce":
        return _bounces(_object(notification, "bounce"), message_id), ()
    if name == "Complaint":
        return _complaints(_object(notification, "complaint"), message_id)
    if name == "Delivery":
        return _deliveries(_object(notification, "delivery"), message_id), ()
    # Sends, opens, delays, SES's test message on subscribing: accepted, not acted on.
    return (), (str(name),)


def _object(notification: dict, name: str) -> dict:
    value = notification.get(name)
    if not isinstance(value, dict):
        raise Malformed(f"{name} is missing")
    return value


def _recipients(part: dict, name: str) -> list:
    recipients = part.get(name)
    if not isinstance(recipients, list) or not recipients or len(recipients) > MAX_RECIPIENTS:
        raise Malformed(f"{name} is not a list of recipients")
    return recipients


def _bounces(bounce: dict, message_id: str) -> tuple[Feedback, ...]:
    kind = BOUNCE_KINDS.get(bounce.get("bounceType"))
    if kind is None:
        raise Malformed("bounceType is not Permanent, Transient or Undetermined")
    at = moment(bounce.get("timestamp"), what="bounce timestamp")
    return tuple(
        Feedback(kind, text_field(recipient, "emailAddress"), at, message_id=message_id,
                 event_id=text_field(bounce, "feedbackId", required=False),
                 diagnostic=diagnostic(bounce.get("bounceType"), bounce.get("bounceSubType"),
                                       recipient.get("status"), recipient.get("diagnosticCode")))
        for recipient in _recipients(bounce, "bouncedRecipients") if _is_object(recipient))


def _complaints(complaint: dict, message_id: str) -> tuple[tuple[Feedback, ...], tuple[str, ...]]:
    feedback_type = complaint.get("complaintFeedbackType") or ""
    if feedback_type not in COMPLAINT_TYPES:
        return (), (f"Complaint ({feedback_type})",)
    at = moment(complaint.get("timestamp"), what="complaint timestamp")
    items = tuple(
        Feedback(Kind.COMPLAINT, text_field(recipient, "emailAddress"), at, message_id=message_id,
                 event_id=text_field(complaint, "feedbackId", required=False),
                 diagnostic=diagnostic("complaint", feedback_type, complaint.get("complaintSubType"),
                                       complaint.get("userAgent")))
        for recipient in _recipients(complaint, "complainedRecipients") if _is_object(recipient))
    return items, ()


def _deliveries(delivery: dict, message_id: str) -> tuple[Feedback, ...]:
    at = moment(delivery.get("timestamp"), what="delivery timestamp")
    return tuple(
        Feedback(Kind.DELIVERY, recipient, at, message_id=message_id,
                 diagnostic=diagnostic(delivery.get("smtpResponse")))
        for recipient in _recipients(delivery, "recipients") if _is_text(recipient))


def _is_object(recipient: object) -> bool:
    if not isinstance(recipient, dict):
        raise Malformed("a recipient is not an object")
    return True


def _is_text(recipient: object) -> bool:
    if not isinstance(recipient, str) or not recipient:
        raise Malformed("a recipient is not an address")
    return True
