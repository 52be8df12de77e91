"""Requests as each e-mail provider signs them, with keys and a certificate made here.

Shared by the provider tests and the hook tests: real signatures, made the
way each provider documents, so that the verification under test is the
real one.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import datetime, timezone
from functools import cache

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID

from consent_center.inbound.mail import sns

SNS_CERT_URL = "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-0000000000000000000000.pem"
TOPIC = "arn:aws:sns:eu-west-1:123456789012:ses-feedback"


@cache
def sendgrid_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def sendgrid_public() -> str:
    """The verification key as SendGrid shows it: base64 DER."""
    der = sendgrid_key().public_key().public_bytes(serialization.Encoding.DER,
                                                   serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(der).decode()


def sendgrid_request(events: list[dict], timestamp: int) -> tuple[dict[str, str], bytes]:
    body = json.dumps(events).encode()
    signature = sendgrid_key().sign(str(timestamp).encode() + body, ec.ECDSA(hashes.SHA256()))
    return {"X-Twilio-Email-Event-Webhook-Signature": base64.b64encode(signature).decode(),
            "X-Twilio-Email-Event-Webhook-Timestamp": str(timestamp),
            "Content-Type": "application/json"}, body


def mailgun_body(event: dict, key: str, timestamp: int, token: str) -> bytes:
    signature = hmac.new(key.encode(), f"{timestamp}{token}".encode(), hashlib.sha256).hexdigest()
    return json.dumps({"signature": {"timestamp": str(timestamp), "token": token, "signature": signature},
                       "event-data": event}).encode()


@cache
def sns_identity(name: str = sns.CERTIFICATE_NAME) -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
    """An RSA key and its self-signed certificate, valid 2020-2040, named as SNS's are."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    certificate = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
                   .serial_number(x509.random_serial_number())
                   .not_valid_before(datetime(2020, 1, 1, tzinfo=timezone.utc))
                   .not_valid_after(datetime(2040, 1, 1, tzinfo=timezone.utc))
                   .sign(key, hashes.SHA256()))
    return key, certificate


def sns_pem(name: str = sns.CERTIFICATE_NAME) -> str:
    return sns_identity(name)[1].public_bytes(serialization.Encoding.PEM).decode()


def sns_message(message: str, *, at: datetime, message_id: str = "b2f5e3a4-0000-4000-8000-000000000001",
                kind: str = "Notification", version: str = "1", name: str = sns.CERTIFICATE_NAME,
                topic: str = TOPIC, **extra: str) -> dict[str, str]:
    """An SNS message signed as SNS signs it (SHA1withRSA for version 1, SHA256withRSA for 2)."""
    fields = {"Type": kind, "MessageId": message_id, "TopicArn": topic, "Message": message,
              "Timestamp": at.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
              "SignatureVersion": version, "SigningCertURL": SNS_CERT_URL, **extra}
    if kind != "Notification":
        fields.setdefault("Token", "2336412f37fb687f5d51e6e2425f004aed6d3f3e3e13")
        fields.setdefault("SubscribeURL", "https://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription"
                                          f"&TopicArn={topic}&Token=2336412f37fb687f5d51e6e2425f004aed6d3f3e3e13")
    digest = hashes.SHA1() if version == "1" else hashes.SHA256()
    signature = sns_identity(name)[0].sign(sns.canonical(fields), padding.PKCS1v15(), digest)
    return {**fields, "Signature": base64.b64encode(signature).decode()}


def ses_bounce(address: str, bounce_type: str = "Permanent", at: str = "2026-03-01T10:00:00.000Z") -> str:
    return json.dumps({
        "notificationType": "Bounce",
        "bounce": {"bounceType": bounce_type, "bounceSubType": "General", "timestamp": at,
                   "feedbackId": "0102018e-feedback-0001",
                   "bouncedRecipients": [{"emailAddress": address, "action": "failed", "status": "5.1.1",
                                          "diagnosticCode": f"smtp; 550 5.1.1 <{address}>: user unknown"}]},
        "mail": {"timestamp": at, "messageId": "0102018e-mail-0001", "source": "news@shop.example",
                 "destination": [address]}})


def ses_complaint(address: str, feedback_type: str | None = "abuse", at: str = "2026-03-01T10:00:00.000Z") -> str:
    complaint = {"complainedRecipients": [{"emailAddress": address}], "timestamp": at,
                 "feedbackId": "0102018e-feedback-0002", "userAgent": "Mail Reporter"}
    if feedback_type is not None:
        complaint["complaintFeedbackType"] = feedback_type
    return json.dumps({"notificationType": "Complaint", "complaint": complaint,
                       "mail": {"timestamp": at, "messageId": "0102018e-mail-0002", "source": "news@shop.example",
                                "destination": [address]}})


def ses_delivery(addresses: list[str], at: str = "2026-03-01T10:00:00.000Z") -> str:
    return json.dumps({"eventType": "Delivery",
                       "delivery": {"timestamp": at, "recipients": addresses, "smtpResponse": "250 ok"},
                       "mail": {"timestamp": at, "messageId": "0102018e-mail-0003"}})


def postmark_bounce(address: str, bounce_type: str = "HardBounce", record_id: int = 4323372036854775807,
                    message_id: str = "883953f4-6105-42a2-a16a-77a8eac79483") -> bytes:
    return json.dumps({
        "RecordType": "Bounce", "MessageStream": "outbound", "ID": record_id, "Type": bounce_type,
        "TypeCode": 1, "Name": "Hard bounce", "Tag": "Test", "MessageID": message_id,
        "ServerID": 23, "Description": "The server was unable to deliver your message (ex: unknown user).",
        "Details": f"smtp;550 5.1.1 The email account that you tried to reach does not exist: {address}",
        "Email": address, "From": "news@shop.example", "BouncedAt": "2026-03-01T10:00:00.9070259Z",
        "DumpAvailable": True, "Inactive": True, "CanActivate": True, "Subject": "Spring offers"}).encode()


def postmark_complaint(address: str, record_id: int = 4323372036854775808) -> bytes:
    return json.dumps({
        "RecordType": "SpamComplaint", "MessageStream": "outbound", "ID": record_id, "Type": "SpamComplaint",
        "TypeCode": 100001, "Name": "Spam complaint", "MessageID": "00000000-0000-0000-0000-000000000000",
        "ServerID": 23, "Description": "The subscriber explicitly marked this message as spam.",
        "Details": "Test spam complaint details", "Email": address, "From": "news@shop.example",
        "BouncedAt": "2026-03-01T10:00:00Z", "Subject": "Spring offers"}).encode()


def postmark_delivery(address: str) -> bytes:
    return json.dumps({"RecordType": "Delivery", "MessageStream": "outbound", "ServerID": 23,
                       "MessageID": "883953f4-6105-42a2-a16a-77a8eac79483", "Recipient": address,
                       "DeliveredAt": "2026-03-01T10:00:00Z", "Details": "Test delivery webhook details",
                       "Tag": "welcome-email"}).encode()

