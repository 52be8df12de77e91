"""Every error under /api/ is problem+json; the web keeps its HTML pages; no cookies."""
import pytest

from .api_fixtures import ApiClient, assert_problem


@pytest.mark.parametrize("method, path, status", [
    ("GET", "/api/v1/nothing", 404), ("GET", "/api/v2/check", 404), ("GET", "/api", 404),
    ("DELETE", "/api/v1/check", 405), ("PUT", "/api/v1/subjects", 405),
])
def test_routing_errors_under_api_are_problems(client, method, path, status):
    response = client.open(path, method=method)
    body = assert_problem(response, status)
    if status == 405:
        assert response.headers["Allow"] and method in body["detail"]


@pytest.mark.settings(API_MAX_BODY=100)
def test_a_body_over_the_api_limit_is_a_413_problem(api):
    response = api.post("/subjects", json={"name": "x" * 200})
    assert_problem(response, 413, "too-large")


def test_html_error_pages_stay_outside_the_api(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert response.mimetype == "text/html"


def test_the_api_ignores_the_login_cookie_and_sets_none(client, make_account, auth, make_key):
    make_account("staff@example.com", role="admin")
    auth.login("staff@example.com")
    anonymous = client.get("/api/v1/check?channel=email&email=a@example.com")
    assert_problem(anonymous, 401)  # a logged-in browser is not an API client
    api = ApiClient(client, make_key())
    response = api.post("/subjects", json={"email": "lea@example.com"})
    assert response.status_code == 201  # no CSRF token needed
    for answer in (anonymous, response, api.get("/api/v1/openapi.json".removeprefix("/api/v1"))):
        assert "Set-Cookie" not in answer.headers
        assert "Cookie" not in answer.headers.get("Vary", "")


def test_problems_are_valid_json_with_the_rfc_9457_members(api):
    body = assert_problem(api.get("/check?channel=email"), 422, "validation-error")
    assert set(body) == {"type", "title", "status", "detail", "errors"}
    assert body["errors"] == [{"parameter": "email", "detail": "Give one of email, subject or phone."}]


@pytest.mark.parametrize("method, path, body", [
    ("GET", "/subjects/a%00b", None),
    ("GET", "/check?channel=email&subject=a%00b", None),
    ("GET", "/check?channel=email&email=a%00b@example.com", None),
    ("GET", "/events?after=a%00b", None),
    ("POST", "/check", {"channel": "email", "subjects": ["a\x00b"]}),
    ("POST", "/subjects", {"email": "a@example.com", "name": "a\x00b"}),
])
def test_nul_characters_are_a_4xx_not_a_database_error(api, method, path, body):
    response = api.client.open("/api/v1" + path, method=method, json=body,
                               headers={"Authorization": f"Bearer {api.key}"})
    assert 400 <= response.status_code < 500
    assert response.mimetype == "application/problem+json"
