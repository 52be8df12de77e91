"""Behind proxies: CONSENT_TRUSTED_PROXIES says how many hops' X-Forwarded-* headers to believe.

With none trusted (the default) a visitor's X-Forwarded-For is ignored: the
rate limits and the consent trace see the connecting address. With N trusted,
the address the N-th proxy from the app saw connecting is the visitor's; what
a visitor wrote in the header themselves (entries further left) is not
believed.
"""
import pytest
from sqlalchemy import select

from consent_center import tokens
from consent_center.ledger import Actor
from consent_center.models import ConsentEvent
from consent_center.subjects.service import create_subject

from .conftest import form_post

PROXY = {"REMOTE_ADDR": "10.0.0.5"}
ONE_CLICK = "List-Unsubscribe=One-Click"


def manage(client, email, forwarded_for):
    return form_post(client, "/manage", {"email": email}, headers={"X-Forwarded-For": forwarded_for},
                     environ_base=PROXY)


def traced_network(app, session, forwarded_for):
    subject = create_subject(session, actor=Actor.system(), email="ann@example.com", locale="en", is_customer=True)
    session.commit()
    link = f"/u/{tokens.unsubscribe_token(subject.public_id, 'email')}"
    response = app.test_client(use_cookies=False).post(
        link, data=ONE_CLICK, content_type="application/x-www-form-urlencoded",
        headers={"X-Forwarded-For": forwarded_for}, environ_base=PROXY)
    assert response.status_code == 200
    session.rollback()
    return session.scalars(select(ConsentEvent).order_by(ConsentEvent.id.desc())).first().trace["ip_network"]


@pytest.mark.settings(PUBLIC_RATE_LIMIT="2 per hour")
def test_no_proxy_trusted_by_default_forwarded_for_is_ignored(app):
    assert app.config["TRUSTED_PROXIES"] == 0
    codes = [manage(app.test_client(), f"p{i}@example.com", f"203.0.113.{i}").status_code for i in range(3)]
    assert codes == [302, 302, 429]  # one connecting address, whatever the header says


def test_no_proxy_trusted_the_trace_keeps_the_connecting_address(app, session):
    assert traced_network(app, session, "203.0.113.7") == "10.0.0.0/24"


@pytest.mark.settings(PUBLIC_RATE_LIMIT="2 per hour", TRUSTED_PROXIES=1)
def test_one_proxy_trusted_each_forwarded_visitor_is_counted_alone(app):
    codes = [manage(app.test_client(), f"p{i}@example.com", f"203.0.113.{i}").status_code for i in range(3)]
    assert codes == [302, 302, 302]
    assert manage(app.test_client(), "p9@example.com", "203.0.113.0").status_code == 302
    assert manage(app.test_client(), "p8@example.com", "203.0.113.0").status_code == 429


@pytest.mark.settings(PUBLIC_RATE_LIMIT="2 per hour", TRUSTED_PROXIES=1)
def test_one_proxy_trusted_a_visitor_cannot_spoof_more_hops(app):
    # The visitor sends "X-Forwarded-For: 198.51.100.<i>"; the proxy appends the address it saw.
    codes = [manage(app.test_client(), f"p{i}@example.com", f"198.51.100.{i}, 203.0.113.7").status_code
             for i in range(3)]
    assert codes == [302, 302, 429]


@pytest.mark.settings(TRUSTED_PROXIES=1)
def test_one_proxy_trusted_the_trace_keeps_the_forwarded_address(app, session):
    assert traced_network(app, session, "198.51.100.9, 203.0.113.7") == "203.0.113.0/24"


@pytest.mark.settings(TRUSTED_PROXIES=2)
def test_two_proxies_trusted_the_trace_keeps_the_address_the_outer_one_saw(app, session):
    assert traced_network(app, session, "198.51.100.9, 203.0.113.7, 10.1.1.1") == "203.0.113.0/24"


def test_no_proxy_trusted_forwarded_proto_is_ignored(client):
    response = client.get("/login", headers={"X-Forwarded-Proto": "https"})
    assert "Strict-Transport-Security" not in response.headers


@pytest.mark.settings(TRUSTED_PROXIES=1)
def test_one_proxy_trusted_forwarded_proto_makes_the_request_secure(client):
    response = client.get("/login", headers={"X-Forwarded-Proto": "https"})
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")


@pytest.mark.settings(TRUSTED_PROXIES=1)
def test_forwarded_host_is_never_trusted(app, session):
    # Were X-Forwarded-Host believed, a page posted from evil.example would pass for our own.
    subject = create_subject(session, actor=Actor.system(), email="ann@example.com", locale="en", is_customer=True)
    session.commit()
    link = f"/u/{tokens.unsubscribe_token(subject.public_id, 'email')}"
    response = app.test_client(use_cookies=False).post(
        link, data={"action": "all"}, environ_base=PROXY,
        headers={"Origin": "http://evil.example", "X-Forwarded-Host": "evil.example", "X-Forwarded-For": "203.0.113.7"})
    assert response.status_code == 403
