"""API keys: issued once, stored hashed, scoped, revocable; 401 and 403 as problems."""
import re
from datetime import timedelta

import pytest
from freezegun import freeze_time
from sqlalchemy import select

from consent_center.api.endpoints import ENDPOINTS
from consent_center.accounts.api_clients import SCOPES, key_hash
from consent_center.clock import utcnow
from consent_center.models import ApiClient

from .api_fixtures import ApiClient as Caller
from .api_fixtures import assert_problem


def create_with_cli(runner, *scopes, name="Mailer"):
    args = ["apikey", "create", "--name", name]
    for scope in scopes:
        args += ["--scope", scope]
    result = runner.invoke(args=args)
    assert result.exit_code == 0, result.output
    return result.output.strip().splitlines()[-1], result.output


def test_apikey_create_prints_the_key_last_and_stores_only_its_hash(runner, session):
    key, output = create_with_cli(runner, "consent:read", "subjects:write")
    assert re.fullmatch(r"cc_[A-Za-z0-9_-]{43}", key)
    assert output.count(key) == 1
    client = session.scalars(select(ApiClient)).one()
    assert client.key_hash == key_hash(key) and key not in (client.key_hash, client.key_prefix)
    assert key.startswith(client.key_prefix) and len(client.key_prefix) == 11
    assert client.scopes == ["consent:read", "subjects:write"]


def test_apikey_create_refuses_unknown_scopes(runner):
    result = runner.invoke(args=["apikey", "create", "--name", "x", "--scope", "everything"])
    assert result.exit_code != 0


def test_apikey_list_and_revoke(runner, client, session):
    key, _ = create_with_cli(runner, "consent:read")
    api = Caller(client, key)
    assert api.get("/check?channel=email&email=a@example.com").status_code == 200
    listed = runner.invoke(args=["apikey", "list"]).output
    assert key[:11] in listed and "Mailer" in listed and "active" in listed and key not in listed
    result = runner.invoke(args=["apikey", "revoke", key[:11]])
    assert result.exit_code == 0, result.output
    assert "revoked" in runner.invoke(args=["apikey", "list"]).output
    with freeze_time(utcnow() + timedelta(seconds=11)):  # past each process's key cache
        assert_problem(api.get("/check?channel=email&email=a@example.com"), 401, "unauthenticated")
    assert runner.invoke(args=["apikey", "revoke", "cc_nothing"]).exit_code != 0


@pytest.mark.settings(API_KEY_CACHE_SECONDS=0)
def test_revoking_by_id_takes_effect_at_once_without_the_cache(runner, client, session):
    key, _ = create_with_cli(runner, "consent:read")
    api = Caller(client, key)
    assert api.get("/check?channel=email&email=a@example.com").status_code == 200
    client_id = session.scalars(select(ApiClient.id)).one()
    session.rollback()
    assert runner.invoke(args=["apikey", "revoke", str(client_id)]).exit_code == 0
    assert_problem(api.get("/check?channel=email&email=a@example.com"), 401)


def test_demo_creates_one_api_key_and_says_how_to_make_another(runner, session):
    first = runner.invoke(args=["demo", "--subjects", "0"])
    assert first.exit_code == 0, first.output
    key = re.search(r"^\s+(cc_\S+)$", first.output, re.M).group(1)
    client = session.scalars(select(ApiClient)).one()
    assert client.scopes == list(SCOPES) and client.key_hash == key_hash(key)
    session.rollback()
    again = runner.invoke(args=["demo", "--subjects", "0"])
    assert again.exit_code == 0 and key not in again.output
    assert "apikey create" in again.output and client.key_prefix in again.output
    assert len(session.scalars(select(ApiClient)).all()) == 1


CALLS = {(e.method, e.rule): e for e in ENDPOINTS if e.scope}


def call(api, endpoint):
    path = endpoint.rule.replace("<subject_id>", "someone")
    return api.client.open("/api/v1" + path, method=endpoint.method, json={} if endpoint.body else None,
                           headers=api._headers(None), buffered=True)


@pytest.mark.parametrize("endpoint", CALLS.values(), ids=[f"{m} {r}" for m, r in CALLS])
def test_every_endpoint_needs_a_key(client, endpoint):
    body = assert_problem(call(Caller(client, None), endpoint), 401, "unauthenticated")
    assert "Bearer" in body["detail"]


@pytest.mark.parametrize("endpoint", CALLS.values(), ids=[f"{m} {r}" for m, r in CALLS])
def test_every_endpoint_refuses_a_wrong_key(client, make_key, endpoint):
    key = make_key()
    response = call(Caller(client, key[:-1] + ("A" if key[-1] != "A" else "B")), endpoint)
    assert_problem(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("endpoint", CALLS.values(), ids=[f"{m} {r}" for m, r in CALLS])
def test_every_endpoint_needs_its_scope(client, make_key, endpoint):
    others = [s for s in SCOPES if s != endpoint.scope]
    body = assert_problem(call(Caller(client, make_key(*others)), endpoint), 403, "forbidden-scope")
    assert endpoint.scope in body["detail"]
    allowed = call(Caller(client, make_key(endpoint.scope)), endpoint)
    assert allowed.status_code not in (401, 403)


@pytest.mark.parametrize("header", ["Basic abc", "Bearer", "Bearer   ", "cc_abc", "Bearer " + "x" * 300])
def test_malformed_authorization_headers_are_401(client, header):
    assert_problem(client.get("/api/v1/check?channel=email&email=a@example.com",
                              headers={"Authorization": header}), 401)


def test_last_used_is_written_at_most_once_a_minute(client, make_key, session):
    key = make_key("consent:read")
    api = Caller(client, key)
    with freeze_time("2026-06-01T10:00:00Z") as frozen:
        api.get("/check?channel=email&email=a@example.com")
        first = session.scalars(select(ApiClient.last_used_at)).one()
        session.rollback()
        frozen.tick(timedelta(seconds=30))
        api.get("/check?channel=email&email=a@example.com")
        assert session.scalars(select(ApiClient.last_used_at)).one() == first
        session.rollback()
        frozen.tick(timedelta(seconds=31))
        api.get("/check?channel=email&email=a@example.com")
        later = session.scalars(select(ApiClient.last_used_at)).one()
        session.rollback()
    assert first.isoformat() == "2026-06-01T10:00:00+00:00"
    assert later.isoformat() == "2026-06-01T10:01:01+00:00"


@pytest.mark.settings(API_AUTH_FAILURE_LIMIT="3 per minute")
def test_repeated_failures_are_throttled_with_a_429_problem(client, make_key):
    bad = Caller(client, "cc_notakey")
    for _ in range(3):
        assert_problem(bad.get("/check?channel=email&email=a@example.com"), 401)
    response = bad.get("/check?channel=email&email=a@example.com")
    assert_problem(response, 429, "rate-limited")
    assert int(response.headers["Retry-After"]) >= 1


@pytest.mark.settings(API_RATE_LIMIT="2 per minute")
def test_the_optional_per_key_rate_limit_answers_a_429_problem(api):
    for _ in range(2):
        assert api.get("/check?channel=email&email=a@example.com").status_code == 200
    response = api.get("/check?channel=email&email=a@example.com")
    assert_problem(response, 429, "rate-limited")
