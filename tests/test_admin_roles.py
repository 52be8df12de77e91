"""Who may open what: every /admin and /audit route, for every kind of visitor.

The routes come from ``app.url_map``, so a new route cannot escape the matrix:
an unclassified one fails the test until someone says who may use it.
"""
import pytest
from flask import url_for

from consent_center.models import Role

from .conftest import csrf_from

# Endpoints support may use (beside admins); every other /admin endpoint is the admin's.
SUPPORT_ENDPOINTS = {"admin.index", "admin.people", "admin.person", "admin.record_for_person"}
# Read-only /admin pages the auditor may open too: the law in force, and the re-permission campaign.
EVERY_STAFF_ENDPOINTS = {"admin.rules", "admin.repermission_campaign"}
SAMPLE_VALUES = {"public_id": "nobody", "format": "csv", "label": "v0", "code": "nothing", "account_id": 0,
                 "client_id": 0, "action": "verify"}


def guarded_urls(app):
    """(endpoint, method, url) of every rule under /admin and /audit."""
    urls = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(("/admin", "/audit")):
            continue
        with app.test_request_context():
            url = url_for(rule.endpoint, **{arg: SAMPLE_VALUES[arg] for arg in rule.arguments})
        urls += [(rule.endpoint, method, url) for method in sorted(rule.methods - {"HEAD", "OPTIONS"})]
    return urls


def allowed_roles(endpoint: str) -> set[str]:
    if endpoint.startswith("audit."):
        return {Role.AUDITOR, Role.ADMIN}
    if endpoint in EVERY_STAFF_ENDPOINTS:
        return {Role.SUPPORT, Role.AUDITOR, Role.ADMIN}
    if endpoint in SUPPORT_ENDPOINTS or endpoint.startswith("requests_desk."):
        return {Role.SUPPORT, Role.ADMIN}
    if endpoint.startswith("admin."):
        return {Role.ADMIN}
    raise AssertionError(f"{endpoint}: say in this test who may use it")


def open_with_token(client, method, url):
    """Send the request with a valid CSRF token, so that only the role decides."""
    token = csrf_from(client.get("/privacy", follow_redirects=True).get_data(as_text=True))
    data = {"csrf_token": token} if method == "POST" else None
    return client.open(url, method=method, data=data, buffered=True)


def test_the_matrix_covers_the_back_office_and_the_audit_pages(app):
    endpoints = {endpoint for endpoint, _, _ in guarded_urls(app)}
    assert {"admin.index", "admin.staff_log", "admin.person", "audit.index"} <= endpoints
    for endpoint in endpoints:
        allowed_roles(endpoint)


def test_anonymous_visitors_are_sent_to_login_from_every_page(app, client):
    for endpoint, method, url in guarded_urls(app):
        response = open_with_token(client, method, url)
        assert response.status_code == 302, (method, url)
        assert "/login" in response.headers["Location"], (method, url)


@pytest.mark.parametrize("role", [Role.CUSTOMER, Role.SUPPORT, Role.AUDITOR, Role.ADMIN])
def test_each_role_opens_exactly_its_pages(app, client, auth, make_account, role):
    make_account(f"{role}@example.com", role=role, name="Staff Member")
    auth.login(f"{role}@example.com")
    for endpoint, method, url in guarded_urls(app):
        response = open_with_token(client, method, url)
        if role in allowed_roles(endpoint):
            # Past the door: the page, a 404 for the sample name, a 400 for a post without
            # its form, or a post's redirect — but never the login page or a refusal.
            assert response.status_code not in (401, 403), (role, method, url, response.status_code)
            assert "/login" not in response.headers.get("Location", ""), (role, method, url)
        else:
            assert response.status_code == 403, (role, method, url, response.status_code)
