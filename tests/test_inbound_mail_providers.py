"""Each e-mail provider's authentication and payload, read with real signatures made here.

The hook tests (tests/test_email_hooks.py) drive the same code through the
endpoint; these prove the pure parts: a good request read into its items, a
tampered one refused, a malformed one refused, each provider's odd cases.
"""
from __future__ import annotations

import base64
import json
from datetime import datetime, timezone
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from consent_center.inbound.mail import arf, mailgun, postmark, sendgrid, ses, sns
from consent_center.inbound.mail.adapter import REDACTED, messages, redact
from consent_center.inbound.mail.feedback import (BadSignature, Kind, Malformed, Notice, authenticate_secret, diagnostic,
                                                  moment)

from . import mail_providers as mp

DATA = Path(__file__).parent / "data"
NOW = datetime(2026, 3, 1, 10, 0, 5, tzinfo=timezone.utc)


def test_diagnostic_is_one_short_line_without_any_address():
    text = diagnostic("bounce", None, "550 5.1.1 <Jane.Doe@example.org>:\r\n user\x00 unknown", "x" * 300)
    assert "@" not in text and "\n" not in text and "\x00" not in text
    assert text.startswith("bounce 550 5.1.1 <<address>>: user unknown") and len(text) == 200


def test_moments_are_read_as_utc_or_refused():
    assert moment("2019-11-05T16:33:54.9070259Z", what="t") == datetime(2019, 11, 5, 16, 33, 54, 907025,
                                                                         tzinfo=timezone.utc)
    assert moment(1513299569, what="t") == moment("1513299569", what="t") == datetime(2017, 12, 15, 0, 59, 29,
                                                                                        tzinfo=timezone.utc)
    for bad in (None, True, "yesterday", "2026-03-01", "9" * 12 + "0", {"a": 1}):
        with pytest.raises(Malformed):
            moment(bad, what="t")


def test_postmark_secret_as_basic_auth_or_header_and_its_records():
    basic = base64.b64encode(b"postmark:s3cret-\xc3\xa9").decode()
    authenticate_secret({"Authorization": f"Basic {basic}"}, "s3cret-é")
    authenticate_secret({"x-consent-hook-secret": "s3cret-é"}, "s3cret-é")
    wrong = base64.b64encode(b"postmark:s3cret").decode()
    for headers in ({}, {"Authorization": f"Basic {wrong}"}, {"Authorization": "Basic !!!"},
                    {"Authorization": "Bearer s3cret-é"}, {"X-Consent-Hook-Secret": "s3cret-e\u0301"}):
        with pytest.raises(BadSignature):
            authenticate_secret(headers, "s3cret-é")
    with pytest.raises(BadSignature):  # a hook without a secret accepts nothing
        authenticate_secret({"X-Consent-Hook-Secret": ""}, "")

    hard = postmark.parse(mp.postmark_bounce("Jane@Example.org"))
    assert hard.key == "Bounce:4323372036854775807" and hard.sent_at is None
    [item] = hard.items
    assert (item.kind, item.address, item.event_id) == (Kind.HARD_BOUNCE, "Jane@Example.org", "4323372036854775807")
    assert "@" not in item.diagnostic and item.diagnostic.startswith("HardBounce")
    assert postmark.parse(mp.postmark_bounce("a@example.org", "SoftBounce")).items[0].kind is Kind.SOFT_BOUNCE
    assert postmark.parse(mp.postmark_complaint("a@example.org")).items[0].kind is Kind.COMPLAINT
    delivered = postmark.parse(mp.postmark_delivery("a@example.org"))
    assert delivered.items[0].kind is Kind.DELIVERY and "@" not in delivered.key
    # An auto-reply or an unsubscribe request says nothing of the address: read, left alone.
    assert postmark.parse(mp.postmark_bounce("a@example.org", "AutoResponder")).ignored == ("AutoResponder",)
    assert postmark.parse(b'{"RecordType": "Open", "MessageID": "m1"}').ignored == ("Open",)
    for bad in (b"[]", b"{", b'{"RecordType": "Bounce", "Type": "HardBounce"}', b"\xff",
                mp.postmark_bounce("a@example.org").replace(b'"BouncedAt": "2026', b'"BouncedAt": "x2026')):
        with pytest.raises(Malformed):
            postmark.parse(bad)


def test_sendgrid_signature_holds_only_over_the_exact_timestamp_and_body():
    key = sendgrid.load_key(mp.sendgrid_public())
    events = [
        {"email": "jane@example.org", "timestamp": 1772359200, "event": "bounce", "type": "bounce",
         "sg_event_id": "ev-1", "sg_message_id": "m-1", "status": "5.1.1", "reason": "550 jane@example.org unknown"},
        {"email": "joe@example.org", "timestamp": 1772359200, "event": "bounce", "type": "blocked", "sg_event_id": "ev-2"},
        {"email": "ann@example.org", "timestamp": 1772359200, "event": "spamreport", "sg_event_id": "ev-3"},
        {"email": "bob@example.org", "timestamp": 1772359200, "event": "delivered", "sg_event_id": "ev-4"},
        {"email": "bob@example.org", "timestamp": 1772359200, "event": "deferred", "sg_event_id": "ev-5"},
        {"email": "eve@example.org", "timestamp": 1772359200, "event": "dropped", "reason": "Spam Reporting Address",
         "sg_event_id": "ev-6"},
        {"email": "sam@example.org", "timestamp": 1772359200, "event": "dropped", "reason": "Unsubscribed Address",
         "sg_event_id": "ev-7"},
    ]
    headers, body = mp.sendgrid_request(events, 1772359205)
    sendgrid.verify(headers, body, key)
    notices = sendgrid.parse(headers, body)
    assert [(i.kind, i.address) for n in notices for i in n.items] == [
        (Kind.HARD_BOUNCE, "jane@example.org"), (Kind.SOFT_BOUNCE, "joe@example.org"),
        (Kind.COMPLAINT, "ann@example.org"), (Kind.DELIVERY, "bob@example.org"), (Kind.COMPLAINT, "eve@example.org")]
    assert [n.ignored for n in notices if not n.items] == [("deferred",), ("dropped",)]
    assert [n.key for n in notices] == [f"ev-{i}" for i in range(1, 8)]
    assert {n.sent_at for n in notices} == {datetime.fromtimestamp(1772359205, timezone.utc)}
    # Each event keeps its own part of the batch as evidence.
    assert json.loads(notices[0].raw) == events[0] and "@" not in notices[0].items[0].diagnostic

    tampered = [
        (headers, body.replace(b"jane@", b"john@")),
        ({**headers, sendgrid.TIMESTAMP_HEADER: "1772359206"}, body),
        ({**headers, sendgrid.SIGNATURE_HEADER: "not base64!"}, body),
        ({sendgrid.TIMESTAMP_HEADER: "1772359205"}, body),
    ]
    for bad_headers, bad_body in tampered:
        with pytest.raises(BadSignature):
            sendgrid.verify(bad_headers, bad_body, key)
    other = ec.generate_private_key(ec.SECP256R1()).public_key()
    with pytest.raises(BadSignature):
        sendgrid.verify(headers, body, other)
    pem = key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    assert sendgrid.load_key(pem).public_numbers() == key.public_numbers()
    for bad_key in ("nope", base64.b64encode(b"x" * 40).decode(), mp.sns_pem().replace("CERTIFICATE", "PUBLIC KEY")):
        with pytest.raises(ValueError):
            sendgrid.load_key(bad_key)
    for bad in ([], [1], {"event": "bounce"}, [{"event": "bounce", "email": "a@example.org", "timestamp": 1}]):
        with pytest.raises(Malformed):
            sendgrid.parse(*mp.sendgrid_request(bad, 1772359205))


def test_mailgun_hmac_covers_timestamp_and_token_and_maps_severities():
    event = {"event": "failed", "severity": "permanent", "reason": "bounce", "id": "ev-1", "timestamp": 1772359200.5,
             "recipient": "jane@example.org", "message": {"headers": {"message-id": "m-1@shop.example"}},
             "delivery-status": {"code": 550, "message": "5.1.1 <jane@example.org> unknown"}}
    body = mp.mailgun_body(event, "key-1", 1772359205, "a" * 50)
    signature, data = mailgun.read(body)
    mailgun.verify(signature, "key-1")
    notice = mailgun.parse(signature, data)
    assert notice.key == "token:" + "a" * 50 and notice.sent_at == datetime.fromtimestamp(1772359205, timezone.utc)
    [item] = notice.items
    assert (item.kind, item.address, item.message_id, item.event_id) == (
        Kind.HARD_BOUNCE, "jane@example.org", "m-1@shop.example", "ev-1")
    assert "@" not in item.diagnostic

    for wrong_key, changed in (("key-2", {}), ("key-1", {"token": "b" * 50}), ("key-1", {"timestamp": "1772359206"}),
                               ("key-1", {"signature": "é"}), ("key-1", {"token": "a" * 200}), ("", {})):
        with pytest.raises(BadSignature):
            mailgun.verify({**signature, **changed}, wrong_key)

    def kind_of(**fields):
        notice = mailgun.parse(signature, {**event, **fields})
        return notice.items[0].kind if notice.items else None

    assert kind_of(severity="temporary", **{"delivery-status": {"code": 452}}) is Kind.SOFT_BOUNCE
    # Mailgun will try again: not a bounce yet.
    assert kind_of(severity="temporary", **{"delivery-status": {"retry-seconds": 600}}) is None
    assert kind_of(reason="old") is Kind.SOFT_BOUNCE
    assert kind_of(reason="suppress-complaint") is Kind.COMPLAINT
    assert kind_of(reason="suppress-unsubscribe") is None
    assert kind_of(event="complained") is Kind.COMPLAINT
    assert kind_of(event="delivered") is Kind.DELIVERY
    assert kind_of(event="opened") is None
    for bad in (b"{}", b'{"signature": {}, "event-data": []}', b"[1]"):
        with pytest.raises(Malformed):
            mailgun.read(bad)
    with pytest.raises(Malformed):
        mailgun.parse(signature, {**event, "recipient": None})


def pinned(url):
    return sns.load_pinned(mp.sns_pem())


@pytest.mark.parametrize("version", ["1", "2"])
def test_sns_signature_of_either_version_under_the_pinned_certificate(version):
    message = mp.sns_message(mp.ses_bounce("jane@example.org"), at=NOW, version=version, Subject="Bounce")
    sns.verify(message, pinned, topics={mp.TOPIC}, now=NOW)
    notice, text = sns.parse(message)
    assert notice.key == message["MessageId"] and notice.sent_at == datetime(2026, 3, 1, 10, 0, 5, tzinfo=timezone.utc)
    items, ignored = ses.parse(text)
    assert [(i.kind, i.address, i.message_id) for i in items] == [(Kind.HARD_BOUNCE, "jane@example.org",
                                                                  "0102018e-mail-0001")]
    assert "@" not in items[0].diagnostic and ignored == ()
    for field, value in (("Message", message["Message"].replace("jane", "john")), ("Subject", "Other"),
                         ("Timestamp", "2026-03-01T10:00:06.000Z"), ("SignatureVersion", "2" if version == "1" else "1"),
                         ("Signature", "!!"), ("SignatureVersion", "3")):
        with pytest.raises(BadSignature):
            sns.verify({**message, field: value}, pinned, topics={mp.TOPIC}, now=NOW)
    without_subject = {k: v for k, v in message.items() if k != "Subject"}
    with pytest.raises(BadSignature):
        sns.verify(without_subject, pinned, topics={mp.TOPIC}, now=NOW)


def test_sns_refuses_another_topic_a_foreign_certificate_url_and_an_expired_or_other_certificate():
    message = mp.sns_message(mp.ses_bounce("jane@example.org"), at=NOW)
    # AWS signs every topic's messages, an attacker's own included.
    other_topic = mp.sns_message(mp.ses_bounce("jane@example.org"), at=NOW, topic="arn:aws:sns:eu-west-1:666:mine")
    with pytest.raises(BadSignature, match="topic"):
        sns.verify(other_topic, pinned, topics={mp.TOPIC}, now=NOW)
    for url in ("http://sns.eu-west-1.amazonaws.com/x.pem", "https://sns.eu-west-1.amazonaws.com.evil.example/x.pem",
                "https://evil.example/sns.eu-west-1.amazonaws.com/x.pem", "https://sns.eu-west-1.amazonaws.com/x.txt",
                "https://user@sns.eu-west-1.amazonaws.com/x.pem", "https://sns.eu-west-1.amazonaws.com:8443/x.pem",
                "https://s3.amazonaws.com/x.pem"):
        with pytest.raises(BadSignature):
            sns.check_certificate_url(url)
    sns.check_certificate_url("https://sns.cn-north-1.amazonaws.com.cn/SimpleNotificationService-a.pem")
    with pytest.raises(BadSignature):
        sns.verify(message, pinned, topics={mp.TOPIC}, now=datetime(2041, 1, 1, tzinfo=timezone.utc))
    stranger = mp.sns_message(mp.ses_bounce("jane@example.org"), at=NOW, name="stranger")
    with pytest.raises(BadSignature):
        sns.verify(stranger, pinned, topics={mp.TOPIC}, now=NOW)


def test_sns_certificates_fetched_only_from_sns_never_twice_and_named_as_sns_names_them():
    fetched = []

    def opener(url):
        fetched.append(url)
        return mp.sns_pem().encode()

    fetcher = sns.Fetcher(opener)
    message = mp.sns_message(mp.ses_complaint("jane@example.org"), at=NOW)
    sns.verify(message, fetcher, topics={mp.TOPIC}, now=NOW)
    sns.verify(message, fetcher, topics={mp.TOPIC}, now=NOW)
    assert fetched == [mp.SNS_CERT_URL]
    with pytest.raises(BadSignature):
        fetcher("https://evil.example/cert.pem")
    assert fetched == [mp.SNS_CERT_URL]
    with pytest.raises(BadSignature, match="not SNS's"):
        sns.Fetcher(lambda url: mp.sns_pem("sns.amazonaws.com.evil.example").encode())(mp.SNS_CERT_URL)

    def unreachable(url):
        raise OSError("no network")

    with pytest.raises(BadSignature, match="fetched"):
        sns.Fetcher(unreachable)(mp.SNS_CERT_URL)
    with pytest.raises(BadSignature, match="fetched"):
        sns.Fetcher(lambda url: b"<html>")(mp.SNS_CERT_URL)


def test_sns_subscription_confirmation_is_shown_never_followed_and_sns_envelopes_are_checked():
    confirmation = mp.sns_message("You have chosen to subscribe to the topic", at=NOW, kind="SubscriptionConfirmation")
    sns.verify(confirmation, pinned, topics={mp.TOPIC}, now=NOW)
    notice, text = sns.parse(confirmation)
    assert text == "" and notice.items == () and confirmation["SubscribeURL"] in notice.note
    # The Token and SubscribeURL are signed too.
    with pytest.raises(BadSignature):
        sns.verify({**confirmation, "SubscribeURL": "https://evil.example/"}, pinned, topics={mp.TOPIC}, now=NOW)
    for bad in (b"{}", b'{"Type": "Notification", "Message": 1}', b'{"Type": "Other"}', b"nope"):
        with pytest.raises(Malformed):
            sns.read(bad)
    with pytest.raises(Malformed):
        sns.canonical({"Type": "Notification", "Message": "m"})


def test_ses_complaints_deliveries_and_what_is_left_alone():
    [complaint], ignored = ses.parse(mp.ses_complaint("jane@example.org"))
    assert complaint.kind is Kind.COMPLAINT and ignored == ()
    assert ses.parse(mp.ses_complaint("jane@example.org", feedback_type=None))[0][0].kind is Kind.COMPLAINT
    assert ses.parse(mp.ses_complaint("jane@example.org", feedback_type="not-spam")) == ((), ("Complaint (not-spam)",))
    items, _ = ses.parse(mp.ses_delivery(["a@example.org", "b@example.org"]))
    assert [(i.kind, i.address) for i in items] == [(Kind.DELIVERY, "a@example.org"), (Kind.DELIVERY, "b@example.org")]
    assert ses.parse(mp.ses_bounce("a@example.org", "Transient"))[0][0].kind is Kind.SOFT_BOUNCE
    assert ses.parse(json.dumps({"notificationType": "AmazonSnsSubscriptionSucceeded"})) == (
        (), ("AmazonSnsSubscriptionSucceeded",))
    for bad in ("[]", "nope", mp.ses_bounce("a@example.org", "Sideways"), mp.ses_delivery([]),
                mp.ses_delivery([7]), json.dumps({"notificationType": "Bounce"}),
                mp.ses_bounce("a@example.org").replace('"emailAddress": "a@example.org"', '"emailAddress": null')):
        with pytest.raises(Malformed):
            ses.parse(bad)


def test_arf_reports_name_the_complaining_recipient_or_no_one():
    notice = arf.parse((DATA / "arf_abuse.eml").read_bytes())
    [item] = notice.items
    assert (item.kind, item.address, item.message_id) == (Kind.COMPLAINT, "Jane.Doe@Example.org",
                                                          "<8787KJKJ3K4J3K4J3K4J3.mail@shop.example>")
    assert item.at == datetime(2026, 3, 8, 19, 0, tzinfo=timezone.utc) and "@" not in notice.key
    # Headers only, CRLF line ends, the recipient named only by the reported message's To.
    [renee] = arf.parse((DATA / "arf_headers_only.eml").read_bytes()).items
    assert renee.address == "renee.martin@example.com"

    raw = (DATA / "arf_abuse.eml").read_text()
    assert arf.parse(raw.replace("Feedback-Type: abuse", "Feedback-Type: not-spam").encode()).ignored == (
        "Feedback-Type not-spam",)
    redacted = raw.replace("Original-Rcpt-To: <Jane.Doe@Example.org>\n", "").replace(
        "To: <Jane.Doe@Example.org>", "To: <Undisclosed Recipients>")
    assert arf.parse(redacted.encode()).items == ()
    for bad in (raw.replace("report-type=feedback-report", "report-type=delivery-status"),
                raw.replace("Content-Type: message/feedback-report", "Content-Type: text/plain"),
                raw.replace("Feedback-Type: abuse\n", ""), "Subject: hello\n\nhi",
                raw.replace("Arrival-Date: Thu, 8 Mar 2026 14:00:00 -0500\n", "").replace(
                    "Date: Thu, 8 Mar 2026 17:40:36 -0500\n", "")):
        with pytest.raises(Malformed):
            arf.parse(bad.encode())


def test_arf_files_are_read_one_a_directory_or_an_mbox(tmp_path):
    report = (DATA / "arf_abuse.eml").read_bytes()
    assert [name for name, _ in arf.messages(DATA / "arf_abuse.eml")] == ["arf_abuse.eml"]
    box = tmp_path / "fbl.mbox"
    box.write_bytes(b"From fbl@mail.example.net Thu Mar  8 17:40:36 2026\n" + report + b"\n"
                    + b"From fbl@mail.example.net Thu Mar  8 17:41:00 2026\n"
                    + (DATA / "arf_headers_only.eml").read_bytes().replace(b"\r\n", b"\n") + b"\n")
    read = list(arf.messages(box))
    assert [name for name, _ in read] == ["fbl.mbox#1", "fbl.mbox#2"]
    assert [arf.parse(raw).items[0].address for _, raw in read] == ["Jane.Doe@Example.org", "renee.martin@example.com"]
    (tmp_path / "dir").mkdir()
    (tmp_path / "dir" / "b.eml").write_bytes(report)
    (tmp_path / "dir" / ".hidden").write_bytes(b"x")
    assert [name for name, _ in arf.messages(tmp_path / "dir")] == ["b.eml"]


def test_evidence_keeps_only_its_own_address_in_any_escaping():
    text = json.dumps({"Message": json.dumps({"to": ["Jane@Example.org", "joe@example.org"],
                                              "from": "news@shop.example", "name": "ren\u00e9e@example.com"})})
    kept = redact(text, "jane@example.org")
    assert "Jane@Example.org" in kept and "joe@" not in kept and "shop.example" not in kept
    assert json.loads(json.loads(kept)["Message"])["to"] == ["Jane@Example.org", REDACTED]
    assert redact(json.dumps({"e": "renée@example.com"}), "renée@example.com") == json.dumps({"e": "renée@example.com"})
    assert "@" not in redact("mailto:a@b.c <x@y.z> (p@q.r)", None)
    # A multi-recipient notification: one message per recipient, each keeping only its own address.
    items, _ = ses.parse(mp.ses_delivery(["a@example.org", "b@example.org"]))
    first, second = messages([Notice(key="n-1", sent_at=None, items=items)], mp.ses_delivery(["a@example.org",
                                                                                              "b@example.org"]).encode())
    assert (first.message_id, second.message_id) == ("n-1:1", "n-1:2")
    assert "a@example.org" in first.raw and "b@example.org" not in first.raw and "a@example.org" not in second.raw
