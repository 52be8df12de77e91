"""The /u/ page's broader buttons (undo, stop everything) need proof the page was seen.

Holding a link is not enough to give consent back or to stop every
channel: each of these buttons carries a short-lived nonce, rendered on
the HTML page only, bound to the link and to what it may touch.
"""
import re
from datetime import UTC, datetime, timedelta

import pytest
from freezegun import freeze_time
from sqlalchemy import select

from consent_center.ledger import Actor
from consent_center.models import ConsentEvent
from consent_center.policies.service import publish_policy
from consent_center.subjects.service import create_subject

from .test_unsubscribe import counts, states, url

ONE_CLICK = "List-Unsubscribe=One-Click"
SAME_SITE = {"Sec-Fetch-Site": "same-origin", "Accept-Language": "en"}


@pytest.fixture
def subject(session):
    publish_policy(session, "2026-01", {"en": "Our policy."}, effective_at=datetime(2026, 1, 1, tzinfo=UTC))
    subject = create_subject(session, actor=Actor.system(), email="ann@example.com", name="Ann",
                             locale="en", is_customer=True)
    session.commit()
    return subject


@pytest.fixture
def bare(app):
    """A client that keeps no cookie, like a mail provider's server."""
    return app.test_client(use_cookies=False)


def nonce(response, action: str) -> str | None:
    """The nonce of the page's ``action`` button, as a browser without JavaScript would send it."""
    found = re.search(rf'name="action" value="{action}">\s*<input type="hidden" name="nonce" value="([^"]+)"',
                      response.get_data(as_text=True))
    return found.group(1) if found else None


def press(client, link, action, nonce_value=None):
    data = {"action": action} if nonce_value is None else {"action": action, "nonce": nonce_value}
    return client.post(link, data=data, headers=SAME_SITE)


def unsubscribed_on_the_page(client, link):
    """The person presses "Stop receiving" and gets the confirmation page."""
    response = press(client, link, "channel")
    assert response.status_code == 200
    return response


def test_a_bare_undo_post_is_refused_and_writes_nothing(bare, session, subject):
    link, public_id = url(subject), subject.public_id
    unsubscribed_on_the_page(bare, link)
    before = counts(session)
    for sent in (None, "", "forged"):
        response = press(bare, link, "undo", sent)
        assert response.status_code == 400
        assert "Nothing was changed" in response.get_data(as_text=True)
    assert counts(session) == before
    assert states(session, public_id)["email"] == "withdrawn"


def test_a_bare_stop_everything_post_is_refused_and_writes_nothing(bare, session, subject):
    link, public_id, before = url(subject), subject.public_id, counts(session)
    for sent in (None, "", "forged"):
        response = press(bare, link, "all", sent)
        assert response.status_code == 400
        assert "Nothing was changed" in response.get_data(as_text=True)
    assert counts(session) == before
    assert set(states(session, public_id).values()) == {"granted", "never_asked"}


def test_stop_everything_works_with_the_nonce_of_the_page(bare, session, subject):
    link = url(subject, "sms")
    page = bare.get(link, headers={"Accept-Language": "en"})
    assert press(bare, link, "all", nonce(page, "all")).status_code == 200
    assert states(session, subject) == {"email": "withdrawn", "sms": "withdrawn", "post": "withdrawn",
                                        "newsletter": "never_asked"}


def test_stop_everything_stops_only_the_channels_the_page_listed(bare, session, subject):
    from consent_center.ledger import record_change
    from consent_center.models import Source
    from consent_center.models.vocabulary import ActorType

    link = url(subject)
    seen = nonce(bare.get(link), "all")  # the page lists e-mail, SMS and post
    record_change(session, session.merge(subject), {"newsletter": "granted"}, source=Source.CUSTOMER_SPACE,
                  actor=Actor(ActorType.SUBJECT, subject.public_id))
    session.commit()
    assert press(bare, link, "all", seen).status_code == 200
    assert states(session, subject)["newsletter"] == "granted"
    assert states(session, subject)["post"] == "withdrawn"


def test_undo_works_once_with_the_nonce_of_the_confirmation_page(bare, session, subject):
    link = url(subject)
    confirmation = unsubscribed_on_the_page(bare, link)
    assert "I clicked by mistake" in confirmation.get_data(as_text=True)
    undo_nonce = nonce(confirmation, "undo")
    before = counts(session)
    assert press(bare, link, "undo", undo_nonce).status_code == 200
    assert states(session, subject)["email"] == "granted"
    event = session.scalars(select(ConsentEvent).order_by(ConsentEvent.id.desc())).first()
    assert (event.status, event.previous_status, event.basis, event.evidence["scope"]) == \
        ("granted", "withdrawn", "soft_opt_in", "undo")
    replay = press(bare, link, "undo", undo_nonce)
    assert replay.status_code == 200
    assert "There is nothing left to undo" in replay.get_data(as_text=True)
    assert counts(session)[0] == before[0] + 1


def test_undo_restores_every_channel_the_stop_everything_withdrew(bare, session, subject):
    link = url(subject, "sms")
    confirmation = press(bare, link, "all", nonce(bare.get(link), "all"))
    assert press(bare, link, "undo", nonce(confirmation, "undo")).status_code == 200
    assert states(session, subject) == {"email": "granted", "sms": "granted", "post": "granted",
                                        "newsletter": "never_asked"}


def test_a_nonce_for_one_withdrawal_cannot_undo_another(bare, session, subject):
    link = url(subject)
    first = nonce(unsubscribed_on_the_page(bare, link), "undo")
    assert press(bare, link, "undo", first).status_code == 200
    unsubscribed_on_the_page(bare, link)  # a second withdrawal, a new event
    before = counts(session)
    assert press(bare, link, "undo", first).status_code == 200
    assert counts(session) == before
    assert states(session, subject)["email"] == "withdrawn"


def test_a_nonce_from_one_link_cannot_be_used_with_another(bare, session, subject):
    email_link, sms_link = url(subject, "email"), url(subject, "sms")
    undo_nonce = nonce(unsubscribed_on_the_page(bare, email_link), "undo")
    all_nonce = nonce(bare.get(sms_link), "all")
    other = create_subject(session, actor=Actor.system(), email="bob@example.com", is_customer=True)
    session.commit()
    other_link, before = url(other), counts(session)
    assert press(bare, sms_link, "undo", undo_nonce).status_code == 400
    assert press(bare, other_link, "all", all_nonce).status_code == 400
    assert counts(session) == before


def test_a_nonce_for_one_button_does_not_work_on_the_other(bare, session, subject):
    link = url(subject)
    all_nonce = nonce(bare.get(link), "all")
    undo_nonce = nonce(unsubscribed_on_the_page(bare, link), "undo")
    before = counts(session)
    assert press(bare, link, "undo", all_nonce).status_code == 400
    assert press(bare, link, "all", undo_nonce).status_code == 400
    assert counts(session) == before


def test_an_expired_nonce_is_refused(bare, session, subject):
    public_id = subject.public_id
    with freeze_time("2026-05-01 10:00:00") as frozen:
        link = url(subject)
        all_nonce = nonce(bare.get(link), "all")
        frozen.tick(timedelta(minutes=16))
        assert press(bare, link, "all", all_nonce).status_code == 400
        undo_nonce = nonce(unsubscribed_on_the_page(bare, link), "undo")
        frozen.tick(timedelta(minutes=14))
        before = counts(session)
        frozen.tick(timedelta(minutes=2))
        assert press(bare, link, "undo", undo_nonce).status_code == 400
        assert counts(session) == before
    assert states(session, public_id)["email"] == "withdrawn"


def test_a_one_click_withdrawal_can_never_be_undone_by_the_link_alone(bare, client, session, subject):
    link = url(subject)
    answered = bare.post(link, data=ONE_CLICK, content_type="application/x-www-form-urlencoded")
    assert answered.status_code == 200 and nonce(answered, "undo") is None
    assert states(session, subject)["email"] == "withdrawn"
    # Whoever holds the link: the page, the "Stop receiving" button again, nothing offers an undo.
    page = client.get(link, headers={"Accept-Language": "en"})
    again = press(client, link, "channel")
    for response in (answered, page, again):
        assert "I clicked by mistake" not in response.get_data(as_text=True)
        assert nonce(response, "undo") is None
    assert states(session, subject)["email"] == "withdrawn"


def test_the_page_offers_no_undo_on_a_later_visit(bare, session, subject):
    link = url(subject)
    unsubscribed_on_the_page(bare, link)
    page = bare.get(link, headers={"Accept-Language": "en"})
    assert "I clicked by mistake" not in page.get_data(as_text=True) and nonce(page, "undo") is None


def test_a_cross_site_button_is_still_refused_before_its_nonce_is_read(client, session, subject):
    link = url(subject)
    page = client.get(link)
    before = counts(session)
    response = client.post(link, data={"action": "all", "nonce": nonce(page, "all")},
                           headers={"Sec-Fetch-Site": "cross-site"})
    assert response.status_code == 403
    assert counts(session) == before


def test_the_answer_to_a_one_click_post_carries_no_button_power(bare, session, subject):
    link = url(subject, "sms")  # e-mail and post stay active: the page would offer "stop everything"
    answered = bare.post(link, data=ONE_CLICK, content_type="application/x-www-form-urlencoded")
    assert answered.status_code == 200
    assert 'name="nonce"' not in answered.get_data(as_text=True)
    assert nonce(bare.get(link), "all") is not None  # the page itself still offers it
