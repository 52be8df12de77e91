"""Bounces and complaints through ``POST /hooks/email/{provider}/{hook}``, signed for real.

Each provider: a good request acts and is kept once as evidence; the same
request again changes nothing; a tampered one, an old one or a malformed one
is refused with nothing written. A complaint withdraws every e-mail channel
of every subject with the address through the ledger (source complaint),
never SMS or post.
"""
from __future__ import annotations

import base64
import json
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from freezegun import freeze_time
from sqlalchemy import func, select

from consent_center.inbound.mail import mailgun, sendgrid
from consent_center.inbound.mail.feedback import BadSignature
from consent_center.inbound.providers import email_ses
from consent_center.ledger import Actor, record_change
from consent_center.models import ConsentEvent, InboundMessage, Receipt, StaffAction
from consent_center.models.vocabulary import Source
from consent_center.policies.service import publish_policy
from consent_center.subjects.service import create_subject

from . import mail_providers as mp
from .inbound_fixtures import make_hook, path_of, states

NOW = datetime(2026, 3, 1, 10, 0, 5, tzinfo=timezone.utc)
DATA = Path(__file__).parent / "data"
DOC = Path(__file__).resolve().parents[1] / "docs" / "integration-email.md"


@pytest.fixture
def policy(session):
    publish_policy(session, "2026-01", {"en": "Policy.", "fr": "Politique.", "nl": "Beleid."},
                   effective_at=datetime(2026, 1, 1, tzinfo=timezone.utc))
    session.commit()


def person(session, address, **statuses):
    subject = create_subject(session, actor=Actor.system(), email=address, phone="+33612345678")
    record_change(session, subject, statuses or {"email": "granted", "newsletter": "granted", "sms": "granted"},
                  source=Source.API, actor=Actor.system())
    session.commit()
    return subject.public_id


def counts(session):
    session.rollback()
    return {model.__name__: session.scalar(select(func.count()).select_from(model))
            for model in (InboundMessage, ConsentEvent, Receipt)}


def secret_header(secret):
    return {"X-Consent-Hook-Secret": secret, "Content-Type": "application/json"}


@freeze_time(NOW)
def test_postmark_complaint_withdraws_every_email_channel_of_everyone_with_the_address(client, session, policy):
    jane = person(session, "jane.doe@example.org")
    other = person(session, "joe@example.org")
    hook, url = make_hook(session, "postmark", kind="email")
    body = mp.postmark_complaint("JANE.DOE@Example.org")

    before = counts(session)
    for headers in ({}, secret_header("wrong-" + hook.secret),
                    {"Authorization": "Basic " + base64.b64encode(b"postmark:nope").decode()}):
        assert client.post(path_of(url), data=body, headers=headers).status_code == 401
    assert counts(session) == before

    basic = base64.b64encode(f"postmark:{hook.secret}".encode()).decode()
    answer = client.post(path_of(url), data=body, headers={"Authorization": f"Basic {basic}",
                                                           "Content-Type": "application/json"})
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert [a["outcome"] for a in answer.get_json()["accepted"]] == ["complained"]
    # Every e-mail channel of the subject with the address (any spelling); SMS stays; others untouched.
    assert states(session, jane) == {"email": ("withdrawn", "complaint"), "newsletter": ("withdrawn", "complaint"),
                                     "sms": ("granted", "api"), "post": ("granted", "default")}
    assert states(session, other)["email"] == ("granted", "api")
    message = session.scalars(select(InboundMessage)).one()
    assert message.sender == "jane.doe@example.org" and message.outcome == "complained"
    assert message.details["withdrawn"] == {jane: ["email", "newsletter"]}
    assert json.loads(message.payload)["Email"] == "JANE.DOE@Example.org"
    assert "news@shop.example" not in message.payload  # another person's address is not kept
    events = session.scalars(select(ConsentEvent).where(ConsentEvent.source == Source.COMPLAINT)).all()
    assert {e.evidence["inbound_message"] for e in events} == {message.public_id}
    assert all("@" not in json.dumps(e.evidence) for e in events)

    # The same record again, six times, by header this time: one message, nothing more.
    after = counts(session)
    for _ in range(6):
        again = client.post(path_of(url), data=body, headers=secret_header(hook.secret))
        assert again.status_code == 200 and again.get_json()["duplicates"] == ["SpamComplaint:4323372036854775808"]
    assert counts(session) == after
    assert client.post(path_of(url), data=b"{not json", headers=secret_header(hook.secret)).status_code == 400
    assert client.post(path_of(url), data=b'{"RecordType": "Bounce"}',
                       headers=secret_header(hook.secret)).status_code == 400
    assert counts(session) == after


def test_sendgrid_batch_signed_event_by_event_and_refused_tampered_old_or_malformed(client, session, policy):
    # A refusal stays a refusal: only what is granted is withdrawn.
    jane = person(session, "jane@example.org", email="granted", newsletter="refused")
    hook, url = make_hook(session, "sendgrid", kind="email", secret=mp.sendgrid_public())
    now = int(NOW.timestamp())
    events = [{"email": "jane@example.org", "timestamp": now, "event": "spamreport", "sg_event_id": "ev-1"},
              {"email": "Jane@Example.org", "timestamp": now, "event": "open", "sg_event_id": "ev-2"}]
    headers, body = mp.sendgrid_request(events, now)
    with freeze_time(NOW):
        before = counts(session)
        tampered = body.replace(b"spamreport", b"delivered ")
        assert client.post(path_of(url), data=tampered, headers=headers).status_code == 401
        assert client.post(path_of(url), data=body, headers={**headers, sendgrid.TIMESTAMP_HEADER: str(now + 1)}
                           ).status_code == 401
        bad_headers, bad_body = mp.sendgrid_request([{"event": "bounce"}], now)
        assert client.post(path_of(url), data=bad_body, headers=bad_headers).status_code == 400
        assert counts(session) == before

        answer = client.post(path_of(url), data=body, headers=headers).get_json()
        assert [(a["id"], a["outcome"]) for a in answer["accepted"]] == [("ev-1", "complained"), ("ev-2", "ignored")]
        assert states(session, jane)["email"] == ("withdrawn", "complaint")
        assert states(session, jane)["newsletter"] == ("refused", "api")
        ignored = session.scalars(select(InboundMessage).where(InboundMessage.provider_message_id == "ev-2")).one()
        # An event left alone keeps no address at all.
        assert ignored.sender is None and "@" not in ignored.payload and ignored.details == {"ignored": ["open"]}
        kept = counts(session)
        assert client.post(path_of(url), data=body, headers=headers).get_json()["duplicates"] == ["ev-1", "ev-2"]
        assert counts(session) == kept
    # The same signed request, past the replay window: refused before anything is read.
    with freeze_time(NOW + timedelta(minutes=6)):
        problem = client.post(path_of(url), data=body, headers=headers)
        assert problem.status_code == 401 and "window" in problem.get_json()["detail"]


def test_mailgun_token_is_good_once_whatever_event_comes_with_it(client, session, policy):
    jane, joe = person(session, "jane@example.org"), person(session, "joe@example.org")
    hook, url = make_hook(session, "mailgun", kind="email", secret="key-3ax6xnjp29jd6fds4gc373sgvjxteol0")
    complaint = {"event": "complained", "id": "ev-1", "timestamp": NOW.timestamp(), "recipient": "jane@example.org"}
    body = mp.mailgun_body(complaint, hook.secret, int(NOW.timestamp()), "t" * 50)
    with freeze_time(NOW):
        before = counts(session)
        wrong = mp.mailgun_body(complaint, "key-another-one-entirely", int(NOW.timestamp()), "t" * 50)
        assert client.post(path_of(url), data=wrong, content_type="application/json").status_code == 401
        assert client.post(path_of(url), data=b'{"signature": {}}', content_type="application/json").status_code == 400
        assert counts(session) == before
        assert client.post(path_of(url), data=body, content_type="application/json").status_code == 200
        assert states(session, jane)["email"] == ("withdrawn", "complaint")
        # A captured request, its signature kept, the event swapped for another person's.
        payload = json.loads(body)
        payload["event-data"] = {**complaint, "id": "ev-2", "recipient": "joe@example.org"}
        replayed = client.post(path_of(url), data=json.dumps(payload), content_type="application/json")
        assert replayed.status_code == 200 and replayed.get_json()["duplicates"] == ["token:" + "t" * 50]
        assert states(session, joe)["email"] == ("granted", "api")
    with freeze_time(NOW + timedelta(minutes=6)):
        late = mp.mailgun_body(complaint, hook.secret, int(NOW.timestamp()), "u" * 50)
        assert client.post(path_of(url), data=late, content_type="application/json").status_code == 401


@pytest.mark.settings(SNS_CERTIFICATE=mp.sns_pem(), SNS_FETCH_CERTIFICATES=False)
def test_ses_through_sns_under_a_pinned_certificate(client, session, policy, caplog):
    jane = person(session, "jane@example.org")
    hook, url = make_hook(session, "ses", kind="email", secret=f" {mp.TOPIC} ")

    def post(message):
        return client.post(path_of(url), data=json.dumps(message), content_type="text/plain; charset=UTF-8")

    with freeze_time(NOW):
        confirmation = mp.sns_message("You have chosen to subscribe", at=NOW, kind="SubscriptionConfirmation",
                                      message_id="sub-1")
        answer = post(confirmation)
        assert answer.get_json()["accepted"][0]["outcome"] == "subscription"
        assert confirmation["SubscribeURL"] in caplog.text  # shown to the operator, never visited
        before = counts(session)
        for bad in (mp.sns_message(mp.ses_complaint("jane@example.org"), at=NOW, topic="arn:aws:sns:eu-west-1:666:x"),
                    {**mp.sns_message(mp.ses_complaint("jane@example.org"), at=NOW), "Subject": "changed"},
                    mp.sns_message(mp.ses_complaint("jane@example.org"), at=NOW, name="stranger"),
                    mp.sns_message(mp.ses_complaint("jane@example.org"), at=NOW - timedelta(minutes=6))):
            assert post(bad).status_code == 401
        assert post(mp.sns_message("not SES's JSON", at=NOW, message_id="n-0")).status_code == 400
        assert counts(session) == before

        complaint = mp.sns_message(mp.ses_complaint("jane@example.org"), at=NOW, version="2", message_id="n-1")
        assert post(complaint).get_json()["accepted"][0]["outcome"] == "complained"
        assert states(session, jane)["newsletter"] == ("withdrawn", "complaint")
        assert post(complaint).get_json()["duplicates"] == ["n-1"]
        not_spam = mp.sns_message(mp.ses_complaint("jane@example.org", "not-spam"), at=NOW, message_id="n-2")
        assert post(not_spam).get_json()["accepted"][0]["outcome"] == "ignored"


@pytest.mark.settings(SNS_CERTIFICATE="", SNS_FETCH_CERTIFICATES=False)
def test_ses_without_a_pin_and_without_fetching_refuses_everything(client, session):
    hook, url = make_hook(session, "ses", kind="email", secret=mp.TOPIC)
    with freeze_time(NOW):
        answer = client.post(path_of(url), data=json.dumps(mp.sns_message(mp.ses_complaint("a@example.org"), at=NOW)))
    assert answer.status_code == 401 and counts(session)["InboundMessage"] == 0
    assert email_ses.FETCHED._kept == {}


def test_hook_secrets_each_provider_accepts(runner, session):
    for provider, secret in (("sendgrid", "not a key"), ("mailgun", "short"), ("ses", "arn:aws:s3:::bucket"),
                             ("postmark", "has:colon-and-is-long-enough-123")):
        result = runner.invoke(args=["hook", "create", "--kind", "email", "--provider", provider, "--secret", secret])
        assert result.exit_code != 0, (provider, result.output)
    result = runner.invoke(args=["hook", "create", "--kind", "email", "--provider", "postmark"])
    assert result.exit_code == 0 and len(result.output.strip().splitlines()[-1]) >= 32


@freeze_time(NOW)
def test_arf_report_posted_and_read_from_files_once(client, runner, session, policy, tmp_path):
    jane = person(session, "jane.doe@example.org")
    renee = person(session, "renee.martin@example.com")
    hook, url = make_hook(session, "arf", kind="email")
    report = (DATA / "arf_abuse.eml").read_bytes()
    assert client.post(path_of(url), data=report, content_type="message/rfc822").status_code == 401
    posted = client.post(path_of(url), data=report, headers={"X-Consent-Hook-Secret": hook.secret,
                                                             "Content-Type": "message/rfc822"})
    assert posted.get_json()["accepted"][0]["outcome"] == "complained"
    assert states(session, jane)["email"] == ("withdrawn", "complaint")
    assert client.post(path_of(url), data=b"Subject: hi\n\nhello", headers={
        "X-Consent-Hook-Secret": hook.secret}).status_code == 400

    box = tmp_path / "fbl.mbox"
    box.write_bytes(b"From fbl@fbl.example.com Mon Feb  2 09:15:02 2026\n"
                    + (DATA / "arf_headers_only.eml").read_bytes().replace(b"\r\n", b"\n")
                    + b"\nFrom x@y Mon Feb  2 09:15:02 2026\nSubject: not a report\n\nhello\n")
    result = runner.invoke(args=["suppression", "ingest-arf", str(box)])
    assert result.exit_code == 0, result.output
    assert "fbl.mbox#1: complained" in result.output and "fbl.mbox#2: refused: not a multipart/report" in result.output
    assert states(session, renee)["email"] == ("withdrawn", "complaint")
    again = runner.invoke(args=["suppression", "ingest-arf", str(box)])
    assert "fbl.mbox#1: duplicate" in again.output
    line = session.scalars(select(StaffAction).order_by(StaffAction.id.desc())).first()
    assert line.action == "suppression.arf_ingested" and line.via == "cli" and "@" not in json.dumps(line.details)
    # The reports read from files are kept under a hook no request can use.
    files_hook = session.scalars(select(InboundMessage).where(InboundMessage.sender == "renee.martin@example.com")
                                 ).one().hook
    assert files_hook.revoked_at is not None and files_hook.provider == "arf"
    assert runner.invoke(args=["suppression", "ingest-arf", str(tmp_path / "missing")]).exit_code != 0


def test_the_guide_s_sendgrid_and_mailgun_examples_are_signed_correctly():
    guide = DOC.read_text()
    key = re.search(r"--provider sendgrid \\\n\s+--secret '([^']+)'", guide).group(1)
    timestamp = re.search(r"X-Twilio-Email-Event-Webhook-Timestamp: (\d+)", guide).group(1)
    signature = re.search(r"X-Twilio-Email-Event-Webhook-Signature: (\S+)", guide).group(1)
    body = re.search(r"\n(\[\{\"email\".*\}\])\n", guide).group(1).encode()
    headers = {sendgrid.TIMESTAMP_HEADER: timestamp, sendgrid.SIGNATURE_HEADER: signature}
    sendgrid.verify(headers, body, sendgrid.load_key(key))  # raises BadSignature if the guide's example is wrong
    with pytest.raises(BadSignature):  # and the check is real: one byte changed is refused
        sendgrid.verify(headers, body.replace(b"@", b"+@", 1), sendgrid.load_key(key))
    signing_key = re.search(r"--provider mailgun --secret (\S+)", guide).group(1)
    example = re.search(r"\n(\{\"signature\": .*?\}\}\})\n", guide, re.S).group(1)
    signature_object, _ = mailgun.read(example.encode())
    mailgun.verify(signature_object, signing_key)
    with pytest.raises(BadSignature):
        mailgun.verify(signature_object, signing_key + "x")


def check(api, address):
    answer = api.get(f"/check?channel=email&email={address}").get_json()
    return answer["allowed"], answer["status"]


@freeze_time(NOW)
@pytest.mark.settings(SOFT_BOUNCE_LIMIT=2)
def test_bounces_make_an_address_undeliverable_and_a_stranger_s_complaint_suppresses_it(client, session, policy,
                                                                                        api, runner, tmp_path):
    jane, joe = person(session, "jane@example.org"), person(session, "joe@example.org")
    hook, url = make_hook(session, "postmark", kind="email")

    def post(body):
        answer = client.post(path_of(url), data=body, headers=secret_header(hook.secret))
        assert answer.status_code == 200, answer.get_data(as_text=True)
        return [a["outcome"] for a in answer.get_json()["accepted"]]

    assert post(mp.postmark_bounce("Jane@Example.org")) == ["hard_bounce"]
    assert check(api, "jane@example.org") == (False, "undeliverable")
    # Not a consent change: no event, the state as it was.
    assert states(session, jane)["email"] == ("granted", "api")
    # Soft bounces count in a row: a delivery between them starts the count again.
    assert post(mp.postmark_bounce("joe@example.org", "SoftBounce", record_id=1, message_id="m-1")) == [
        "soft_bounce"]
    assert post(mp.postmark_delivery("joe@example.org")) == ["delivered"]
    assert post(mp.postmark_bounce("joe@example.org", "SoftBounce", record_id=2, message_id="m-2")) == [
        "soft_bounce"]
    assert check(api, "joe@example.org") == (True, "granted")
    assert post(mp.postmark_bounce("joe@example.org", "Transient", record_id=3, message_id="m-3")) == [
        "soft_bounce"]
    assert check(api, "joe@example.org") == (False, "undeliverable")

    # A complaint about an address no one has: a later subject with it, granted, is still not allowed.
    assert post(mp.postmark_complaint("Stranger@Example.org")) == ["suppressed"]
    report = (DATA / "arf_abuse.eml").read_bytes().replace(b"Jane.Doe@Example.org", b"nobody@example.org")
    (tmp_path / "r.eml").write_bytes(report)
    assert "r.eml: suppressed" in runner.invoke(args=["suppression", "ingest-arf", str(tmp_path / "r.eml")]).output
    for address in ("stranger@example.org", "nobody@example.org"):
        person(session, address)
        allowed, status = check(api, address)
        assert not allowed and status == "listed", (address, status)
    assert states(session, joe)["email"] == ("granted", "api")

