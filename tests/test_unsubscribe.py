"""Invariant 6: one-click unsubscribe links (RFC 8058) that cannot be forged or turned."""
import base64
import json
import re
from datetime import datetime, timedelta, timezone

import pytest
from freezegun import freeze_time
from sqlalchemy import func, select

from consent_center import tokens
from consent_center.ledger import Actor
from consent_center.models import Channel, ConsentEvent, ConsentState, Receipt, Subject
from consent_center.policies.service import publish_policy
from consent_center.subjects.service import create_subject
from consent_center.unsubscribe.links import unsubscribe_headers

ONE_CLICK = "List-Unsubscribe=One-Click"
SAME_SITE = {"Sec-Fetch-Site": "same-origin"}


@pytest.fixture
def policy(session):
    version = publish_policy(session, "2026-01", {"en": "Our policy."},
                             effective_at=datetime(2026, 1, 1, tzinfo=timezone.utc))
    session.commit()
    return version


@pytest.fixture
def subject(session, policy):
    subject = create_subject(session, actor=Actor.system(), email="ann@example.com", name="Ann",
                             locale="en", is_customer=True)
    session.commit()
    return subject


def url(subject, channel="email"):
    return f"/u/{tokens.unsubscribe_token(subject.public_id, channel)}"


def counts(session):
    session.rollback()
    return tuple(session.scalar(select(func.count()).select_from(m)) for m in (ConsentEvent, ConsentState, Receipt))


def states(session, subject):
    """The subject's states; ``subject`` may be its public id (a 4xx answer rolled back, detaching the object)."""
    public_id = subject if isinstance(subject, str) else subject.public_id
    session.rollback()
    rows = session.scalars(select(ConsentState).join(Subject).where(Subject.public_id == public_id))
    return {s.channel.code: s.status for s in rows}


@pytest.fixture
def bare(app):
    """A client that keeps no cookie, like a mail provider's server."""
    return app.test_client(use_cookies=False)


def one_click(client, link, encoding="urlencoded", **kwargs):
    if encoding == "urlencoded":
        return client.post(link, data=ONE_CLICK, content_type="application/x-www-form-urlencoded", **kwargs)
    return client.post(link, data={"List-Unsubscribe": "One-Click"}, content_type="multipart/form-data", **kwargs)


def test_get_and_head_on_unsubscribe_link_change_nothing(client, session, subject):
    before = counts(session)
    page = client.get(url(subject), headers={"Accept-Language": "en"})
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Commercial e-mail" in html and "Stop receiving: Commercial e-mail" in html
    assert "Stop every commercial channel" in html
    assert 'href="/space/preferences"' in html and 'href="/manage"' in html
    assert client.head(url(subject)).status_code == 200
    assert counts(session) == before
    assert states(session, subject)["email"] == "granted"


@pytest.mark.parametrize("encoding", ["urlencoded", "multipart"])
def test_rule_one_click_unsubscribe_without_login(bare, session, subject, policy, encoding):
    response = one_click(bare, url(subject), encoding)
    assert response.status_code == 200
    assert "Location" not in response.headers
    assert states(session, subject)["email"] == "withdrawn"
    assert states(session, subject)["sms"] == "granted"
    event = session.scalars(select(ConsentEvent).order_by(ConsentEvent.id.desc())).first()
    assert (event.source, event.actor_type, event.actor_id) == ("unsubscribe_link", "subject", subject.public_id)
    assert event.policy_version_id == policy.id
    assert event.evidence == {"link_channel": "email", "method": "one_click", "scope": "channel"}
    assert event.trace["route"] == "/u/…"


def test_a_second_one_click_answers_200_and_records_nothing(bare, session, subject):
    assert one_click(bare, url(subject)).status_code == 200
    after_first = counts(session)
    second = one_click(bare, url(subject), "multipart", headers={"Accept-Language": "en"})
    assert second.status_code == 200 and "Location" not in second.headers
    assert counts(session) == after_first
    assert "You had already unsubscribed" in second.get_data(as_text=True)


def test_an_email_link_cannot_unsubscribe_sms_nor_another_subject(bare, session, subject):
    other = create_subject(session, actor=Actor.system(), email="bob@example.com", is_customer=True)
    session.commit()
    one_click(bare, url(subject, "email"))
    assert states(session, subject) == {"email": "withdrawn", "sms": "granted", "post": "granted",
                                        "newsletter": "never_asked"}
    assert states(session, other)["email"] == "granted"


def _payload_swapped(token: str, **changes) -> str:
    """Rewrite a token's payload, keeping its old signature (a forgery)."""
    payload, rest = token.split(".", 1)
    data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    data.update(changes)
    forged = base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).rstrip(b"=").decode()
    return f"{forged}.{rest}"


def test_a_token_turned_on_another_channel_or_subject_is_refused(bare, session, subject):
    other = create_subject(session, actor=Actor.system(), email="bob@example.com", is_customer=True)
    session.commit()
    before = counts(session)
    token = tokens.unsubscribe_token(subject.public_id, "email")
    for forged in (_payload_swapped(token, c="sms"), _payload_swapped(token, s=other.public_id)):
        assert bare.get(f"/u/{forged}").status_code == 404
        assert one_click(bare, f"/u/{forged}").status_code == 404
    assert counts(session) == before


def test_forged_and_unknown_links_get_the_same_4xx_page(bare, session, subject):
    before = counts(session)
    unknown_person = f"/u/{tokens.unsubscribe_token('0' * 24, 'email')}"
    unknown_channel = f"/u/{tokens.unsubscribe_token(subject.public_id, 'fax')}"
    answers = [one_click(bare, link) for link in ("/u/not-a-token", unknown_person, unknown_channel,
                                                   url(subject)[:-3] + "abc")]
    assert {r.status_code for r in answers} == {404}
    assert len({without_csrf(r) for r in answers}) == 1
    assert counts(session) == before
    assert without_csrf(bare.get(unknown_person)) == without_csrf(answers[0])


def without_csrf(response) -> str:
    """The page without its per-session CSRF token and the URL it echoes (the language switch)."""
    return re.sub(r'name="(csrf_token|next)" value="[^"]+"', "", response.get_data(as_text=True))


def test_a_rotated_out_key_is_refused_and_a_fallback_key_still_works(app, bare, session, subject):
    app.config["SECRET_KEY"] = "the-old-key"
    old_link = url(subject)
    app.config.update(SECRET_KEY="the-new-key", SECRET_KEY_FALLBACKS=["the-old-key"])
    assert bare.get(old_link).status_code == 200
    app.config["SECRET_KEY_FALLBACKS"] = []
    assert one_click(bare, old_link).status_code == 404
    assert states(session, subject)["email"] == "granted"
    app.config["SECRET_KEY_FALLBACKS"] = ["the-old-key"]
    assert one_click(bare, old_link).status_code == 200
    assert states(session, subject)["email"] == "withdrawn"


def test_unsubscribe_links_work_for_two_years_by_default(bare, session, subject):
    with freeze_time("2026-02-01 08:00:00") as frozen:
        link = url(subject)
        frozen.tick(timedelta(days=731))
        assert one_click(bare, link).status_code == 404
        assert states(session, subject)["email"] == "granted"
    with freeze_time("2026-02-01 08:00:00") as frozen:
        link = url(subject)
        frozen.tick(timedelta(days=729))
        assert one_click(bare, link).status_code == 200
    assert states(session, subject)["email"] == "withdrawn"


@pytest.mark.settings(UNSUBSCRIBE_TOKEN_MAX_AGE=timedelta(days=400))
def test_unsubscribe_link_age_follows_the_setting(bare, session, subject):
    with freeze_time("2026-02-01 08:00:00") as frozen:
        link = url(subject)
        frozen.tick(timedelta(days=401))
        assert bare.get(link).status_code == 404


def test_the_page_button_stops_every_commercial_channel_in_one_receipt(client, session, subject):
    service = Channel(code="service", names={"en": "Service messages"}, purposes={}, default_status="granted",
                      default_basis="legitimate_interest", commercial=False, active=True, position=50)
    session.add(service)
    session.commit()
    customer = create_subject(session, actor=Actor.system(), email="cat@example.com", is_customer=True)
    session.commit()
    link, before = url(customer), counts(session)
    nonce = re.search(r'value="all">\s*<input type="hidden" name="nonce" value="([^"]+)"',
                      client.get(link).get_data(as_text=True)).group(1)
    response = client.post(link, data={"action": "all", "nonce": nonce}, headers=SAME_SITE)
    assert response.status_code == 200 and "Location" not in response.headers
    assert states(session, customer) == {"email": "withdrawn", "sms": "withdrawn", "post": "withdrawn",
                                         "newsletter": "never_asked", "service": "granted"}
    assert counts(session)[0] == before[0] + 3 and counts(session)[2] == before[2] + 1


def test_a_link_can_never_grant_a_channel_that_was_not_withdrawn_by_it(client, session, subject):
    link, public_id, before = url(subject, "newsletter"), subject.public_id, counts(session)
    assert client.post(link, data={"action": "undo"}, headers=SAME_SITE).status_code == 400
    assert counts(session) == before
    assert states(session, public_id)["newsletter"] == "never_asked"


@pytest.mark.parametrize("headers", [{"Sec-Fetch-Site": "cross-site"}, {"Sec-Fetch-Site": "same-site"},
                                     {"Origin": "https://evil.example"}, {"Origin": "null"}])
def test_page_buttons_submitted_from_another_site_are_refused(client, session, subject, headers):
    link, before = url(subject), counts(session)
    for action in ("all", "channel", "undo"):
        assert client.post(link, data={"action": action}, headers=headers).status_code == 403
    assert counts(session) == before


def test_page_buttons_from_our_own_origin_are_accepted(client, session, subject):
    response = client.post(url(subject), data={"action": "channel"}, headers={"Origin": "http://localhost"})
    assert response.status_code == 200
    assert states(session, subject)["email"] == "withdrawn"


def test_one_click_from_another_site_still_works(bare, session, subject):
    assert one_click(bare, url(subject), headers={"Sec-Fetch-Site": "cross-site",
                                                  "Origin": "https://mail.example"}).status_code == 200
    assert states(session, subject)["email"] == "withdrawn"


def test_a_post_without_a_known_body_is_refused_and_changes_nothing(bare, session, subject):
    link, before = url(subject), counts(session)
    assert bare.post(link, data={"List-Unsubscribe": "Yes please"}).status_code == 400
    assert bare.post(link).status_code == 400
    assert counts(session) == before


def test_a_restricted_channel_stays_restricted(bare, session, subject):
    from consent_center.ledger import record_change
    from consent_center.models import Source

    record_change(session, session.merge(subject), {"email": "restricted"}, source=Source.RESTRICTION,
                  actor=Actor.system())
    session.commit()
    before = counts(session)
    assert one_click(bare, url(subject)).status_code == 200
    assert counts(session) == before
    assert states(session, subject)["email"] == "restricted"


def test_unsubscribe_pages_send_no_referrer_and_are_never_framed(bare, subject):
    for response in (bare.get(url(subject)), one_click(bare, url(subject)), bare.get("/u/forged")):
        assert response.headers["Referrer-Policy"] == "no-referrer"
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["Cache-Control"] == "no-store"


def test_unsubscribe_headers_point_at_a_working_one_click_link(app, bare, session, subject):
    headers = unsubscribe_headers(subject.public_id, "sms")
    assert headers["List-Unsubscribe-Post"] == ONE_CLICK
    link = headers["List-Unsubscribe"].strip("<>")
    assert link.startswith("http://localhost/u/")
    assert one_click(bare, link.removeprefix("http://localhost")).status_code == 200
    assert states(session, subject)["sms"] == "withdrawn"


@pytest.mark.parametrize("locale, words", [("fr", "Se désabonner"), ("nl", "Afmelden"), ("en", "Unsubscribe")])
def test_the_unsubscribe_page_speaks_the_visitors_language(bare, subject, locale, words):
    html = bare.get(url(subject), headers={"Accept-Language": locale}).get_data(as_text=True)
    assert f'<html lang="{locale}">' in html and words in html
