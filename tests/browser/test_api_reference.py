"""/api/v1/docs in Chromium: the vendored Swagger UI shows every operation under the site's CSP, as is.

One page load: every operation rendered, nothing refused by the Content-Security-Policy, no console
error or warning, no request to another origin, and an operation tried with a key given through
Authorize answers from this server (connect-src 'self').
"""
import pytest

from consent_center.accounts.api_clients import create_client
from consent_center.api.routes.reference import HTTP_METHODS

expect = pytest.importorskip("playwright.sync_api").expect

DESKTOP = pytest.mark.parametrize("viewport", ["desktop"])  # one viewport: the layout is Swagger UI's
# Runs before the page's scripts and outside its CSP: keeps what the policy refuses.
RECORD_VIOLATIONS = """window.cspViolations = [];
document.addEventListener("securitypolicyviolation",
  (e) => window.cspViolations.push(e.violatedDirective + " " + e.blockedURI));"""


@DESKTOP
def test_swagger_ui_renders_every_operation_and_tries_one_without_breaking_the_csp(
        live_server, new_page, client, session, screenshot):
    key = create_client(session, "Reference reader", ["consent:read"]).key
    session.commit()
    document = client.get("/api/v1/openapi.json").get_json()
    operations = sum(method in HTTP_METHODS for item in document["paths"].values() for method in item)
    page = new_page()
    page.add_init_script(RECORD_VIOLATIONS)
    errors, requests = [], []
    page.on("console", lambda message: message.type in ("error", "warning") and errors.append(message.text))
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("request", lambda request: requests.append(request.url))

    page.goto(f"{live_server}/api/v1/docs")
    expect(page.locator(".opblock")).to_have_count(operations)
    screenshot(page, "api-reference")
    page.locator(".btn.authorize").click()
    page.locator(".auth-container input").fill(key)
    page.get_by_role("button", name="Apply credentials").click()
    page.locator(".auth-btn-wrapper .btn-done").click()
    feed = page.locator("#operations-Change_feed-events")
    feed.locator(".opblock-summary-control").click()
    feed.get_by_role("button", name="Try it out").click()
    feed.get_by_role("button", name="Execute").click()
    expect(feed.locator(".live-responses-table tr.response .response-col_status")).to_have_text("200")

    assert page.evaluate("window.cspViolations") == []
    assert errors == []
    assert all(url.startswith(live_server + "/") for url in requests), requests
    assert any("/api/v1/events" in url for url in requests)
