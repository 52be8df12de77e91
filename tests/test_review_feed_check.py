"""Hostile review of ``check.blocks.answers_now``: the change feed's ``allowed`` for a contact's last event
says what GET /api/v1/check says now, whichever way the check is asked (found: the single check by e-mail
on a channel whose lists also name phone numbers)."""
from __future__ import annotations

from datetime import UTC, datetime

from freezegun import freeze_time

from consent_center.policies.channels import create_channel

from .test_api_feed import read_all
from .test_feed_blocks import _check, _grant

T = datetime(2026, 12, 10, 9, tzinfo=UTC)
NAMES = {"fr": "Courrier", "nl": "Post", "en": "Letters"}


def _last(api, channel, subject) -> dict:
    events, _ = read_all(api, limit=1000)
    return [e for e in events if e["channel"] == channel and e["subject"] == subject][-1]


@freeze_time(T)
def test_a_post_register_naming_the_phone_answers_alike_in_the_feed_and_the_check_by_e_mail(
        api, session, runner, make_subject, tmp_path):
    """A list of a medium other than e-mail/SMS/phone (here ``post``) names a person by e-mail address or
    phone number (``blocks.identifiers``). The feed and the check by subject look at both; the single check
    by e-mail looks only at the address (``_check_email_with_blocks``), so it says allowed where the feed
    says listed."""
    create_channel(session, code="letters", names=NAMES, purposes=NAMES, default_status="never_asked",
                   default_basis="consent", validity_months=None, medium="post")
    session.commit()
    lea = make_subject("lea@example.com", phone="+33612345678")
    _grant(session, lea, "letters")
    path = tmp_path / "robinson.txt"
    path.write_text("06 12 34 56 78\n", encoding="utf-8")
    result = runner.invoke(args=["suppression", "import", "--list", "Robinson", "--channel", "letters",
                                 "--file", str(path), "--region", "fr"])
    assert result.exit_code == 0, result.output
    session.rollback()

    event = _last(api, "letters", lea.public_id)
    by_subject = _check(api, "letters", subject=lea.public_id)
    by_email = _check(api, "letters", email="lea@example.com")
    bulk = api.post("/check", json={"channel": "letters", "emails": ["lea@example.com"]}).get_json()["results"][0]
    assert (event["allowed"], by_subject["allowed"], bulk["allowed"]) == (False, False, False)
    assert by_email["allowed"] == event["allowed"], ("feed", event, "check by e-mail", by_email)
