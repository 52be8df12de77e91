"""Retention of inbound texts that changed nothing: blanked CONSENT_RETENTION_INBOUND_DAYS (90) days after.

A text that stopped or started something stays (the ledger's events name
it as their evidence, erasure blanks it with its person); one that was
ignored, left for review or came from no readable number says nothing
anyone needs past the limit, and its sender and text go.
"""
from datetime import datetime, timedelta, timezone

from freezegun import freeze_time
from sqlalchemy import select

from consent_center.models import InboundMessage

from .inbound_fixtures import make_hook, post_generic, sms
from .test_inbound_sms import person, policy  # noqa: F401  (policy: a fixture)

SENT = datetime(2026, 3, 1, 9, 0, tzinfo=timezone.utc)


def kept(session) -> dict[str, tuple[str | None, bool]]:
    session.rollback()
    return {m.outcome: (m.sender, m.payload is not None)
            for m in session.scalars(select(InboundMessage).order_by(InboundMessage.id))}


def test_texts_that_changed_nothing_lose_sender_and_text_after_the_limit_and_a_stop_stays(
        client, session, runner, policy):  # noqa: F811
    with freeze_time(SENT):
        person(session, "a@example.com", "+33612345678")
        hook, url = make_hook(session)
        for n, (text, sender) in enumerate((("STOP", "+33612345678"), ("Bonjour", "+33611111111"),
                                           ("Our nonstop deals", "+33622222222"), ("Hi", "Renee's phone"))):
            assert post_generic(client, url, hook, sms(text, sender=sender, id=f"SM{n}"), at=SENT).status_code == 200
    assert set(kept(session)) == {"stopped", "ignored", "needs_review", "unreadable_number"}

    with freeze_time(SENT + timedelta(days=90)):
        result = runner.invoke(args=["retention", "run"])
    assert result.exit_code == 0 and "blanked 0 inbound message(s)" in result.output, result.output
    with freeze_time(SENT + timedelta(days=90, seconds=1)):
        dry = runner.invoke(args=["retention", "run", "--dry-run"])
        assert "would blank 3 inbound message(s)" in dry.output, dry.output
        assert all(has_text for _, has_text in kept(session).values())
        assert "blanked 3 inbound message(s)" in runner.invoke(args=["retention", "run"]).output
    assert kept(session) == {"stopped": ("+33612345678", True), "ignored": (None, False),
                             "needs_review": (None, False), "unreadable_number": (None, False)}
    session.rollback()
    assert all(m.redacted_at is not None for m in session.scalars(select(InboundMessage))
               if m.outcome != "stopped")
