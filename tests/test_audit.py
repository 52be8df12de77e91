"""/audit: auditors and admins only; find a person, their history, as-of state, proof."""
import json
import re
from datetime import datetime, timezone

import pytest
from freezegun import freeze_time
from sqlalchemy import select

from consent_center.ledger import Actor, record_change
from consent_center.models import Role, Source, VerificationRun
from consent_center.policies.service import publish_policy
from consent_center.subjects.service import create_subject

from .conftest import csrf_from, form_post


def audit_urls(app, subject_public_id="x"):
    """Every URL of the audit blueprint, with its methods."""
    urls = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("audit."):
            values = {arg: {"public_id": subject_public_id, "format": "csv"}[arg] for arg in rule.arguments}
            with app.test_request_context():
                from flask import url_for

                url = url_for(rule.endpoint, **values)
            urls += [(method, url) for method in rule.methods - {"HEAD", "OPTIONS"}]
    return urls


@pytest.fixture
def person(session):
    publish_policy(session, "2018-11-26", {"fr": "Politique 2018", "en": "Policy 2018"},
                   effective_at=datetime(2018, 11, 26, tzinfo=timezone.utc))
    with freeze_time("2026-02-01 10:00:00"):
        subject = create_subject(session, actor=Actor.system(), email="mrs.x@example.com",
                                 name="Marie Xavier", is_customer=True)
    with freeze_time("2026-03-03 09:15:00"):
        record_change(session, subject, {"email": "withdrawn"}, source=Source.UNSUBSCRIBE_LINK,
                      actor=Actor("subject", subject.public_id))
    with freeze_time("2026-03-20 16:00:00"):
        record_change(session, subject, {"newsletter": "granted"}, source=Source.STAFF,
                      actor=Actor("account", "7"), evidence={"call": "phone call of 20 March, ticket 4411"})
    session.commit()
    return subject


@pytest.fixture
def auditor(make_account, auth):
    make_account("auditor@example.com", role=Role.AUDITOR, locale="en")
    auth.login("auditor@example.com")


@pytest.mark.parametrize("role", [Role.CUSTOMER, Role.SUPPORT])
def test_customers_and_support_get_403_on_every_audit_page(app, client, auth, make_account, role):
    make_account("someone@example.com", role=role)
    auth.login("someone@example.com")
    token = csrf_from(client.get("/", follow_redirects=True).get_data(as_text=True))
    urls = audit_urls(app)
    assert len(urls) >= 8
    for method, url in urls:
        response = client.open(url, method=method, data={"csrf_token": token} if method == "POST" else None)
        assert response.status_code == 403, (method, url)


def test_anonymous_visitors_are_sent_to_login(app, client):
    for method, url in audit_urls(app):
        if method == "GET":
            response = client.get(url)
            assert response.status_code == 302 and response.location.startswith("/login"), url


@pytest.mark.parametrize("role", [Role.AUDITOR, Role.ADMIN])
def test_auditors_and_admins_see_every_page(app, client, runner, auth, make_account, person, role):
    assert runner.invoke(args=["ledger", "checkpoint"]).exit_code == 0  # the latest checkpoint's download
    make_account("staff@example.com", role=role)
    auth.login("staff@example.com")
    for method, url in audit_urls(app, person.public_id):
        if method == "GET":
            response = client.get(url, buffered=True)
            assert response.status_code == 200, url
            if response.mimetype == "text/html":  # a page's title is text, never a piece of the page
                title = re.search(r"<title>(.*?)</title>", response.get_data(as_text=True), re.S).group(1)
                assert "<" not in title, (url, title)


@pytest.mark.parametrize("query", ["mrs.x@example.com", "MRS.X", "xavier", "Marie"])
def test_find_a_person_by_email_or_name(client, auditor, person, query):
    html = client.get("/audit/subjects", query_string={"q": query}).get_data(as_text=True)
    assert f"/audit/subjects/{person.public_id}" in html


def test_find_a_person_by_identifier_and_nobody_by_a_wildcard(client, auditor, person):
    html = client.get("/audit/subjects", query_string={"q": person.public_id}).get_data(as_text=True)
    assert f"/audit/subjects/{person.public_id}" in html
    html = client.get("/audit/subjects", query_string={"q": "%"}).get_data(as_text=True)
    assert person.public_id not in html


def test_a_persons_history_names_sources_actors_bases_and_the_exact_policy(client, auditor, person):
    html = client.get(f"/audit/subjects/{person.public_id}",
                      headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Unsubscribe link" in html and "Customer service" in html
    assert "ticket 4411" in html  # the staff's evidence
    assert "Existing customer (soft opt-in)" in html and "Legitimate interest" in html
    assert 'href="/privacy/versions/2018-11-26?locale=fr"' in html
    assert html.count('"Actor">The person <code>') == 1 and '"Actor">Staff account <code>7</code>' in html


def test_the_policy_link_shows_the_exact_text_and_its_hash(client, session, person):
    from consent_center.models import PolicyText

    fr = session.scalars(select(PolicyText).where(PolicyText.locale == "fr")).one()
    html = client.get("/privacy/versions/2018-11-26?locale=fr").get_data(as_text=True)
    assert "Politique 2018" in html and fr.sha256 in html
    assert client.get("/privacy/versions/none").status_code == 404


def states_row(html, channel_name):
    match = re.search(rf"<th scope=\"row\">{channel_name}</th>\s*<td[^>]*>([^<]+)</td>", html)
    return match.group(1) if match else None


def test_the_state_of_every_channel_as_of_a_date(client, auditor, person):
    url = f"/audit/subjects/{person.public_id}"
    headers = {"Accept-Language": "en"}
    on_the_second = client.get(url, query_string={"date": "2026-03-02"}, headers=headers).get_data(as_text=True)
    assert states_row(on_the_second, "Commercial e-mail") == "Active"
    # 3 March, 10:16 in Paris is 09:16 UTC: after the withdrawal.
    after = client.get(url, query_string={"date": "2026-03-03", "time": "10:16"}, headers=headers)
    assert states_row(after.get_data(as_text=True), "Commercial e-mail") == "Inactive (withdrawn)"
    before = client.get(url, query_string={"date": "2026-03-03", "time": "10:14"}, headers=headers)
    assert states_row(before.get_data(as_text=True), "Commercial e-mail") == "Active"
    bad = client.get(url, query_string={"date": "3 March"}, headers=headers)
    assert bad.status_code == 400 and 'aria-invalid="true"' in bad.get_data(as_text=True)


def test_counts_across_the_base_as_of_a_date(client, auditor, person, session):
    with freeze_time("2026-03-10 10:00:00"):
        create_subject(session, actor=Actor.system(), email="p@example.com")
    session.commit()
    html = client.get("/audit/counts", query_string={"date": "2026-03-05"},
                      headers={"Accept-Language": "en"}).get_data(as_text=True)
    # On 5 March only Mrs X exists: e-mail withdrawn, SMS active.
    email_row = re.search(r"Commercial e-mail</th>(.*?)</tr>", html, re.S).group(1)
    assert re.findall(r'<td class="num"[^>]*>(\d+)</td>', email_row) == ["0", "1", "0", "0", "0", "0", "1"]


def test_policy_versions_in_force_over_time(client, auditor, person, session):
    publish_policy(session, "2026-04-01", {"fr": "Nouvelle politique"},
                   effective_at=datetime(2026, 4, 1, tzinfo=timezone.utc), material=True)
    session.commit()
    html = client.get("/audit/policies", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert html.index("2018-11-26") < html.index("2026-04-01")
    assert "still in force" in html and html.count("still in force") == 1


def test_running_a_verification_from_the_web_records_it(client, auditor, person, session):
    assert "has not been verified yet" in client.get("/audit/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    response = form_post(client, "/audit/", {}, action="/audit/verification")
    assert response.status_code == 302
    page = client.get("/audit/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "The ledger holds: 6 events in 1 chain verified." in page
    assert "found every chain intact" in page
    session.rollback()
    run = session.scalars(select(VerificationRun)).one()
    assert run.ok and run.events == 6 and run.started_by.startswith("account:")


def test_the_verification_button_needs_a_csrf_token(client, auditor, person, session):
    assert client.post("/audit/verification").status_code == 400
    session.rollback()
    assert session.scalars(select(VerificationRun)).all() == []


def test_the_export_buttons_keep_the_filters(client, auditor, person):
    args = {"since": "2026-03-01", "until": "2026-03-31", "channel": "email",
            "subject": person.public_id, "policy_version": "2018-11-26", "source": "unsubscribe_link"}
    html = client.get("/audit/export", query_string=args).get_data(as_text=True)
    links = re.findall(r'href="(/audit/export/events\.\w+\?[^"]+)"', html)
    assert len(links) == 3
    for link in links:
        link = link.replace("&amp;", "&")
        for name in ("since=2026-03-01", "until=2026-04-01", "channel=email", f"subject={person.public_id}",
                     "policy_version=2018-11-26", "source=unsubscribe_link"):
            assert name in link, (name, link)
        response = client.get(link, buffered=True)  # read within the request, as a server does
        assert response.status_code == 200
        body = response.get_data(as_text=True)
        # One event matches: the withdrawal by the unsubscribe link.
        if ".jsonld" in link:
            assert len(json.loads(body)["@graph"]) == 1
        else:
            assert len(body.splitlines()) == (2 if ".csv" in link else 1)
        assert "unsubscribe_link" in body


def test_the_export_form_says_which_filter_is_wrong(client, auditor, person):
    response = client.get("/audit/export", query_string={"since": "yesterday", "channel": "email"},
                          headers={"Accept-Language": "en"})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert 'id="since-error"' in html and "YYYY-MM-DD" in html
    assert "/audit/export/events.csv" not in html
    unknown = client.get("/audit/export/events.csv", query_string={"subject": "nobody"})
    assert unknown.status_code == 400 and 'id="subject-error"' in unknown.get_data(as_text=True)
