"""Fixtures for the JSON API: keys with chosen scopes and a client that sends them."""
from __future__ import annotations

import pytest

from consent_center.accounts.api_clients import SCOPES, create_client
from consent_center.extensions import db
from consent_center.ledger import Actor
from consent_center.subjects.service import create_subject


class ApiClient:
    """The test client with ``Authorization: Bearer <key>`` on every request."""

    def __init__(self, client, key: str | None) -> None:
        self.client = client
        self.key = key

    def _headers(self, headers: dict | None) -> dict:
        base = {"Authorization": f"Bearer {self.key}"} if self.key else {}
        return base | (headers or {})

    def get(self, path: str, headers: dict | None = None, **kw):
        # Buffered: a streamed answer (the export) is read to its end inside
        # the request's context, as a real client would read it.
        kw.setdefault("buffered", True)
        return self.client.get("/api/v1" + path, headers=self._headers(headers), **kw)

    def post(self, path: str, json=None, headers: dict | None = None, **kw):
        return self.client.post("/api/v1" + path, json=json, headers=self._headers(headers), **kw)

    def patch(self, path: str, json=None, headers: dict | None = None, **kw):
        return self.client.patch("/api/v1" + path, json=json, headers=self._headers(headers), **kw)


@pytest.fixture
def make_key(session):
    """Return a new API key with ``scopes`` (all of them by default)."""
    def make(*scopes: str, name: str = "Test tool") -> str:
        issued = create_client(session, name, list(scopes or SCOPES))
        session.commit()
        return issued.key
    return make


@pytest.fixture
def api(client, make_key):
    """An API client whose key has every scope."""
    return ApiClient(client, make_key())


@pytest.fixture
def api_with(client, make_key):
    """Return an API client whose key has only the given scopes."""
    def make(*scopes: str) -> ApiClient:
        return ApiClient(client, make_key(*scopes, name="Scoped tool"))
    return make


@pytest.fixture
def make_subject(session):
    """Create and commit a subject (its channels at their defaults)."""
    def make(email: str | None = "lea@example.com", **fields):
        subject = create_subject(session, actor=Actor.system(), email=email, **fields)
        session.commit()
        return subject
    return make


def assert_problem(response, status: int, kind: str | None = None) -> dict:
    """Assert ``response`` is an RFC 9457 problem with ``status``; return its body."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    body = response.get_json(force=True)
    assert body["status"] == status
    assert body["title"] and body["detail"] and body["type"]
    if kind:
        assert body["type"] == f"urn:consent-center:problem:{kind}"
    return body


def assert_matches_spec(app, body, component: str) -> None:
    """Validate an answer against its schema in the served OpenAPI document."""
    from openapi_schema_validator import OAS30Validator

    spec = app.test_client().get("/api/v1/openapi.json").get_json()
    schema = {"$ref": f"#/components/schemas/{component}", "components": spec["components"]}
    OAS30Validator(schema).validate(body)


def db_counts(session) -> dict:
    """Rows in the tables a failed request must leave alone.

    Read on a connection of its own: the test's session keeps its objects
    (a rollback would expire them, and reloading one on SQLite would hold
    the write lock while the next request waits for it).
    """
    from sqlalchemy import func, select

    from consent_center.models import ConsentEvent, ConsentState, Receipt, Subject

    with db.engine.connect() as connection:
        return {m.__name__: connection.scalar(select(func.count()).select_from(m))
                for m in (Subject, ConsentEvent, ConsentState, Receipt)}


__all__ = ["ApiClient", "assert_matches_spec", "assert_problem", "db", "db_counts"]
