"""Visitors without an account, in a real browser: an unsubscribe link, a newsletter sign-up.

Each journey runs on a desktop and a 360-pixel phone, with JavaScript on
and off: the core action is a plain form post, so it must work either way.
"""
import re
from datetime import datetime, timezone

import pytest
from sqlalchemy import select

from consent_center.ledger import Actor, current_states, record_change
from consent_center.models import Source, Subject
from consent_center.policies.service import publish_policy
from consent_center.subjects.service import create_subject
from consent_center.unsubscribe.links import unsubscribe_url

from ..mail_fixtures import deliver

JAVASCRIPT = pytest.mark.parametrize("javascript", [True, False], ids=["js", "nojs"])


@pytest.fixture
def policy(session):
    version = publish_policy(session, "2026-01", {"fr": "Notre politique.", "nl": "Ons beleid.",
                                                  "en": "Our policy: we write to you only if you agree."},
                             effective_at=datetime(2026, 1, 1, tzinfo=timezone.utc))
    session.commit()
    return version


def states_of(session, email: str) -> dict[str, str]:
    """Read, then end the transaction: on SQLite an open read would block the server's writes."""
    session.rollback()
    subject = session.scalars(select(Subject).where(Subject.email == email)).one()
    states = {state.channel.code: state.status for state in current_states(session, subject).values()}
    session.rollback()
    return states


@JAVASCRIPT
def test_an_unsubscribe_link_is_opened_and_confirmed(live_server, new_page, session, policy, check_page,
                                                     javascript):
    ann = create_subject(session, actor=Actor.system(), email="ann@example.com", name="Ann", locale="en",
                         is_customer=True)
    record_change(session, ann, {"email": "granted", "sms": "granted"}, source=Source.CUSTOMER_SPACE,
                  actor=Actor.system())
    session.commit()
    link = unsubscribe_url(ann.public_id, "email")  # what every marketing e-mail carries
    assert link.startswith(live_server)

    page = new_page(javascript=javascript)
    page.goto(link)
    assert page.get_by_role("heading", level=1).inner_text() == "Unsubscribe"
    assert states_of(session, "ann@example.com")["email"] == "granted"  # opening it changes nothing
    check_page(page, "unsubscribe", javascript=javascript, readme="unsubscribe")
    page.get_by_role("button", name=re.compile("^Stop receiving: ")).click()
    status = page.get_by_role("status")
    assert status.inner_text().strip().startswith("Done: you will no longer receive:")
    check_page(page, "unsubscribed", javascript=javascript)
    states = states_of(session, "ann@example.com")
    assert (states["email"], states["sms"]) == ("withdrawn", "granted")  # that channel only


@JAVASCRIPT
def test_a_prospect_signs_up_and_confirms_through_the_mail(live_server, new_page, session, runner, mailbox,
                                                          policy, check_page, javascript):
    page = new_page(javascript=javascript)
    page.goto(f"{live_server}/subscribe")
    check_page(page, "subscribe", javascript=javascript, readme="subscribe")
    page.get_by_label("Your name").fill("Zoé Peeters")
    page.get_by_label("E-mail address").fill("zoe@example.com")
    page.get_by_label("Language of the newsletter").select_option("nl")
    page.get_by_label(re.compile("I have read the privacy policy")).check()
    page.get_by_role("button", name="Subscribe", exact=True).click()
    page.wait_for_url(f"{live_server}/subscribe/sent")
    assert page.get_by_role("heading", level=1).inner_text() == "Check your mailbox"
    assert session.scalars(select(Subject).where(Subject.email == "zoe@example.com")).first() is None
    session.rollback()
    deliver(runner)  # the real outbox worker, over SMTP to the local server
    received = mailbox.only("zoe@example.com")
    assert received.message["Subject"] == "Bevestig uw inschrijving op de nieuwsbrief van Consent Center"
    links = set(re.findall(re.escape(live_server) + r"/subscribe/confirm/\S+", received.text))
    assert len(links) == 1, received.text

    page.goto(links.pop())
    page.get_by_role("button", name="Confirm my subscription").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Subscription confirmed"
    check_page(page, "subscription-confirmed", javascript=javascript)
    assert states_of(session, "zoe@example.com")["newsletter"] == "granted"


@JAVASCRIPT
def test_a_sign_up_with_a_hidden_control_character_comes_back_with_the_form_kept(live_server, new_page, session,
                                                                                  policy, check_page, javascript):
    """Invariant 8 in the browser: the page says why, the typed values are there, nothing is recorded."""
    page = new_page(javascript=javascript)
    page.goto(f"{live_server}/subscribe")
    page.get_by_label("Your name").fill("Zoé \u202ePeeters")  # a right-to-left override, pasted by mistake
    page.get_by_label("E-mail address").fill("zoe@example.com")
    page.get_by_label(re.compile("I have read the privacy policy")).check()
    page.get_by_role("button", name="Subscribe", exact=True).click()
    page.wait_for_load_state("load")
    assert "invisible control characters" in page.get_by_role("alert").inner_text()
    assert page.get_by_label("Your name").input_value() == "Zoé Peeters"
    assert page.get_by_label("E-mail address").input_value() == "zoe@example.com"
    check_page(page, "subscribe-control-characters", javascript=javascript)
    assert session.scalars(select(Subject).where(Subject.email == "zoe@example.com")).first() is None
    session.rollback()

    page.get_by_label(re.compile("I have read the privacy policy")).check()
    page.get_by_role("button", name="Subscribe", exact=True).click()
    page.wait_for_url(f"{live_server}/subscribe/sent")
