"""Bad input in every form: a clear 4xx or a safely escaped display, never a 500, never half a write.

Each web form is posted, field by field, with over-long text, control
characters (NUL, ESC, the right-to-left override), mixed scripts, an SQL
injection and two HTML/JS injections. Whatever the answer:

- it is below 500;
- control characters are refused with a 4xx (NUL would crash PostgreSQL,
  ESC and U+202E disguise text in logs and on screen);
- a refused post leaves every table as it was (nothing partial written);
- no page, then or later, carries the injected markup unescaped.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from io import BytesIO
from typing import Callable

import pytest
from sqlalchemy import func, literal, select, union_all

from consent_center import tokens
from consent_center.rights.requests import file_request
from consent_center.db import Base
from consent_center.extensions import db
from consent_center.models import Role
from consent_center.policies.service import publish_policy

from .conftest import account_by_email, csrf_from

PAYLOADS = {
    "over-long": "x" * 10_000,
    "NUL": "Zoé\x00Martin",
    "ESC": "Zoé \x1b[31mMartin",
    "RLO": "Zoé \u202eMartin",
    "mixed scripts": "Ρаypаl Ѕecurity مرحبا שלום Zoé",  # Greek Ρ, Cyrillic а and Ѕ, Arabic, Hebrew
    "SQL": "' OR 1=1 --",
    "script": "<script>alert(1)</script>",
    "img": '"><img src=x onerror=alert(1)>',
}
CONTROL = {"NUL", "ESC", "RLO"}
RAW_MARKUP = ("<script>alert(1)</script>", "<img src=x onerror=alert(1)>")
_serial = itertools.count()


@dataclass
class FormCase:
    """One form: who opens it, where, a valid post to vary, the fields to spoil, where values show."""

    name: str
    role: Role | None
    page: str
    base: Callable[[int], dict]
    fields: list[str]
    action: str | None = None
    shows: list[str] = field(default_factory=list)
    files: Callable[[], dict] | None = None


def _n() -> int:
    return next(_serial)


CASES = [
    FormCase("login", None, "/login", lambda n: {"email": f"x{n}@example.com", "password": "whatever123"},
             ["email", "password", "next"]),
    FormCase("forgot password", None, "/password/forgot", lambda n: {"email": f"x{n}@example.com"}, ["email"]),
    FormCase("set password", None, "{reset}", lambda n: {"password": f"long enough pass {n}",
                                                       "confirm": f"long enough pass {n}"},
             ["password", "confirm"]),
    FormCase("accept invitation", None, "{invitation}", lambda n: {"password": f"long enough pass {n}",
                                                                   "confirm": f"long enough pass {n}"},
             ["password", "confirm"]),
    FormCase("newsletter sign-up", None, "/subscribe",
             lambda n: {"email": f"news{n}@example.com", "name": "Zoé", "locale": "fr", "policy_version": "v1",
                        "accept_policy": "y"}, ["email", "name", "locale", "policy_version"]),
    FormCase("manage by e-mail", None, "/manage", lambda n: {"email": f"manage{n}@example.com"}, ["email"]),
    FormCase("preferences by link", None, "{manage}", lambda n: {"active": "email"}, ["active"]),
    FormCase("language", None, "/login", lambda n: {"locale": "fr", "next": "/privacy"}, ["locale", "next"],
             action="/language"),
    FormCase("space preferences", Role.CUSTOMER, "/space/preferences", lambda n: {"active": "email"}, ["active"],
             shows=["/space/preferences", "/space/history"]),
    FormCase("data request", Role.CUSTOMER, "/space/requests",
             lambda n: {"kind": "access", "details": f"Request {n}", "trusted_contact": ""},
             ["kind", "details", "trusted_contact"], shows=["/space/requests", "/space/data"]),
    FormCase("rectification", Role.CUSTOMER, "/space/profile",
             lambda n: {"name": f"Zoé {n}", "email": "", "phone": "+32 470 00 00 00",
                        "postal_address": "Rue Haute 1, Bruxelles", "locale": "en"},
             ["name", "email", "phone", "postal_address", "locale"], shows=["/space/profile", "/space/data"]),
    FormCase("second factor", Role.ADMIN, "/staff/second-factor", lambda n: {"code": "123456"}, ["code"]),
    FormCase("accounts", Role.ADMIN, "/admin/accounts",
             lambda n: {"email": f"staff{n}@example.com", "name": "Sam", "role": "support", "locale": "fr"},
             ["email", "name", "role", "locale"], shows=["/admin/accounts", "/admin/log"]),
    FormCase("API keys", Role.ADMIN, "/admin/keys", lambda n: {"name": f"Tool {n}", "scopes": "consent:read"},
             ["name", "scopes"], shows=["/admin/keys", "/admin/log"]),
    FormCase("policies", Role.ADMIN, "/admin/policies",
             lambda n: {"label": f"v{n + 10}", "effective_date": "2030-01-01", "effective_time": "",
                        "text_fr": "Texte", "text_nl": "Tekst", "text_en": "Text"},
             ["label", "effective_date", "effective_time", "text_fr", "text_en"],
             shows=["/admin/policies", "/privacy/versions", "/audit/policies"]),
    FormCase("channels", Role.ADMIN, "/admin/channels",
             lambda n: {"code": f"chan{n}", "name_fr": "Canal", "name_nl": "Kanaal", "name_en": "Channel",
                        "purpose_fr": "But", "purpose_nl": "Doel", "purpose_en": "Purpose",
                        "default": "never_asked:consent", "validity_months": ""},
             ["code", "name_fr", "name_en", "purpose_en", "default", "validity_months"],
             shows=["/admin/channels", "/space/preferences"]),
    FormCase("on-behalf change", Role.SUPPORT, "{person}",
             lambda n: {"active": "email", "method": "phone", "evidence": f"Phoned on day {n}"},
             ["active", "method", "evidence"], shows=["{person}", "/admin/log"]),
    FormCase("requests desk", Role.SUPPORT, "{request}",
             lambda n: {"days": "10", "reason": "We need more time"}, ["days", "reason"], action="{request}/extend",
             shows=["{request}", "/admin/requests/"]),
    FormCase("import", Role.ADMIN, "/admin/import", lambda n: {"dry_run": ""}, ["dry_run"],
             files=lambda: {}, shows=["/admin/people?q=import", "/admin/log"]),
]


def table_counts() -> dict[str, int]:
    """Rows of every table, read on a connection of its own."""
    tables = Base.metadata.sorted_tables
    counts = union_all(*(select(literal(t.name).label("name"), select(func.count()).select_from(t)
                                .scalar_subquery().label("rows")) for t in tables))
    with db.engine.connect() as connection:  # one statement, not one per table
        return dict(connection.execute(counts).all())


# The notice of a form shown again, in each language (the default locale is French).
KEPT = ("we took them out of the form below", "nous les avons retirés du formulaire ci-dessous",
        "we hebben ze uit het formulier hieronder verwijderd")


# Fields chosen, not typed (checkboxes, lists, buttons, hidden): a spoiled value
# there comes from a tampered form, and the page that says why is the answer.
CHOSEN = {"active", "locale", "role", "scopes", "kind", "method", "default", "next", "policy_version"}
REFUSED = ("caractères de contrôle invisibles", "invisible control characters", "onzichtbare stuurtekens")


def assert_form_kept(response, field_name: str, field_was_shown: bool, where: str) -> None:
    """Invariant 8: a typed field comes back in its form, saying why; a chosen one may get the bare page."""
    body = response.get_data(as_text=True)
    kept = any(notice in body for notice in KEPT) and (f'name="{field_name}"' in body or not field_was_shown)
    if field_name in CHOSEN:
        assert kept or any(reason in body for reason in REFUSED), (where, "the page does not say why")
    else:
        assert kept, (where, "the form was not kept")
    assert "\x00" not in body and "\x1b" not in body and "\u202e" not in body, (where, "a control character shown")


def assert_no_raw_markup(response, where: str) -> None:
    body = response.get_data(as_text=True)
    for markup in RAW_MARKUP:
        assert markup not in body, (where, markup)


@pytest.fixture
def places(session, make_account, make_subject):
    """Accounts, tokens and records the forms need; returns the URLs to fill in."""
    publish_policy(session, "v1", {"en": "We keep your choices.", "fr": "Nous gardons vos choix.",
                                   "nl": "Wij bewaren uw keuzes."})
    session.commit()
    customer = make_account("zoe@example.com", name="Zoé Martin", locale="en")
    make_account("sam@example.com", role=Role.SUPPORT, name="Sam Support")
    make_account("ada@example.com", role=Role.ADMIN, name="Ada Admin")
    invited = make_account("newcomer@example.com", role=Role.SUPPORT, password=None)
    known = make_subject("known@example.com", is_customer=True)
    filed = file_request(session, account_by_email(session, "zoe@example.com").subject, "access")
    session.commit()
    return {
        "reset": f"/password/reset/{tokens.account_token('password_reset', customer)}",
        "invitation": f"/invitation/{tokens.account_token('invitation', invited)}",
        "manage": f"/manage/{tokens.subject_token('manage_link', known.public_id, known.email)}",
        "person": f"/admin/people/{known.public_id}",
        "request": f"/admin/requests/{filed.public_id}",
    }


LOGINS = {Role.CUSTOMER: "zoe@example.com", Role.SUPPORT: "sam@example.com", Role.ADMIN: "ada@example.com"}


def post_case(client, case: FormCase, places: dict, data: dict):
    page = case.page.format(**places)
    html = client.get(page, follow_redirects=True)
    assert html.status_code == 200, (case.name, page, html.status_code)
    payload = {"csrf_token": csrf_from(html.get_data(as_text=True)), **data}
    if case.name == "import":
        payload["file"] = (BytesIO(data.pop("_csv").encode("utf-8")), "contacts.csv")
        payload.pop("_csv", None)
    action = (case.action or case.page).format(**places)
    response = client.post(action, data=payload,
                           content_type="multipart/form-data" if case.name == "import" else None)
    return response, html.get_data(as_text=True)


@pytest.mark.settings(RATELIMIT_ENABLED=False)
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input_in_every_form(app, client, auth, session, places, case):
    if case.role is not None:
        assert auth.login(LOGINS[case.role]).status_code == 302
    session.rollback()
    for field_name in case.fields:
        for kind, value in PAYLOADS.items():
            data = case.base(_n())
            if case.name == "import":
                data["_csv"] = f"email,name,newsletter\nimport{_n()}@example.com,{value},granted\n"
                if field_name == "dry_run":
                    data["dry_run"] = ""
            else:
                data[field_name] = value
            before = table_counts()
            response, page_before = post_case(client, case, places, data)
            where = f"{case.name}: {field_name} = {kind}"
            assert response.status_code < 500, (where, response.status_code)
            assert_no_raw_markup(response, where)
            if kind in CONTROL and case.name != "import":
                assert response.status_code == 400, (where, response.status_code)
                assert_form_kept(response, field_name, f'name="{field_name}"' in page_before, where)
            if response.status_code >= 400:
                assert table_counts() == before, (where, "a refused post wrote something")
    for page in case.shows:
        response = client.get(page.format(**places))
        assert response.status_code < 500, page
        assert_no_raw_markup(response, page)


@pytest.mark.settings(RATELIMIT_ENABLED=False)
@pytest.mark.parametrize("page", ["/admin/people?q={}", "/admin/accounts?q={}", "/audit/subjects?q={}",
                                  "/audit/counts?date={}&time={}", "/audit/export?since={}&channel={}",
                                  "/admin/requests/?closed={}", "/admin/people/{}", "/audit/subjects/{}",
                                  "/privacy/diff?from={}&to={}", "/privacy/versions/{}", "/login?next={}",
                                  "/u/{}", "/manage/{}", "/space/receipts/{}"])
def test_bad_input_in_every_search_and_link(client, auth, make_account, page):
    """GET filters, searches and the ids and tokens in URLs: no 500, no raw markup."""
    from urllib.parse import quote

    make_account("ada@example.com", role=Role.ADMIN, name="Ada Admin")
    auth.login("ada@example.com")
    for kind, value in PAYLOADS.items():
        url = page.replace("{}", quote(value, safe=""))
        response = client.get(url)
        where = f"{page} with {kind}"
        assert response.status_code < 500, (where, response.status_code)
        assert_no_raw_markup(response, where)
        if kind in CONTROL:
            assert 400 <= response.status_code < 500 or response.status_code == 302, (where, response.status_code)


def test_control_characters_come_back_in_the_form_kept_saying_why_in_the_visitors_language(client, session):
    publish_policy(session, "v1", {"fr": "Nous gardons vos choix."})
    session.commit()
    client.get("/privacy")  # a first visit, so that the language switch has a session
    form = {"email": "zoe@example.com", "name": "Zoé\x00 Martin", "locale": "fr", "policy_version": "v1",
            "accept_policy": "y"}
    before = table_counts()
    from .conftest import form_post
    response = form_post(client, "/subscribe", form, headers={"Accept-Language": "fr"})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "nous les avons retirés du formulaire ci-dessous" in page
    assert "Des caractères de contrôle invisibles ont été retirés de ce champ" in page
    # What was typed is still there, without the control character.
    assert 'value="zoe@example.com"' in page and 'value="Zoé Martin"' in page and "\x00" not in page
    assert table_counts() == before


def test_control_characters_in_a_query_argument_get_the_page_that_says_why(client):
    response = client.get("/login?next=%2Fspace%00", headers={"Accept-Language": "fr"})
    assert response.status_code == 400
    assert "caractères de contrôle invisibles" in response.get_data(as_text=True)


def test_a_spoiled_field_outside_the_form_refuses_the_post_before_the_view_acts(client, auth, session, customer):
    auth.login(customer.email)
    session.rollback()
    from .conftest import form_post
    before = table_counts()
    response = form_post(client, "/space/preferences", {"active": ["email"], "smuggled": "x\x1b[31m"})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert any(reason in page for reason in REFUSED)
    assert "flash-success" not in page  # no "… is now Active" beside "nothing was changed"
    assert table_counts() == before
    # The same post without the spoiled field is a change.
    assert form_post(client, "/space/preferences", {"active": ["email"]}).status_code == 302
    assert table_counts()["consent_events"] > before["consent_events"]


def test_a_login_with_a_spoiled_extra_field_logs_no_one_in(client, customer):
    from .conftest import PASSWORD, form_post
    response = form_post(client, "/login", {"email": customer.email, "password": PASSWORD, "smuggled": "\x00"})
    assert response.status_code == 400
    assert client.get("/space/preferences").status_code == 302  # still to the login page


def test_the_boundary_keeps_nothing_of_a_spoiled_post_that_a_view_read_itself(app, client):
    """The net under every view: no row, no flash, no session change survives the refusal."""
    from flask import flash, redirect, request
    from flask import session as cookie

    from consent_center.outbox.queue import enqueue

    def careless():  # reads request.form outside any form, as none of ours does
        cookie["careless"] = request.form["note"]
        flash("Saved.", "success")
        enqueue(db.session, kind="email", topic="test", recipient="x@example.com",
                payload={"note": request.form["note"]})
        return redirect("/privacy")

    app.add_url_rule("/careless", "careless", careless, methods=["POST"])
    from .conftest import form_post
    before = table_counts()
    response = form_post(client, "/login", {"note": "a\x00b"}, action="/careless")
    assert response.status_code == 400
    assert any(reason in response.get_data(as_text=True) for reason in REFUSED)
    assert table_counts() == before
    assert "Saved." not in client.get("/login").get_data(as_text=True)
    with client.session_transaction() as kept:
        assert "careless" not in kept


def test_ordinary_text_passes_the_guard_tabs_newlines_and_every_script(client, auth, session, customer):
    """The guard refuses controls only: a textarea's lines and any script are kept and shown escaped."""
    auth.login(customer.email)
    session.rollback()
    from .conftest import form_post
    details = "Première ligne\r\nвторая строка\tשלום <b>bold</b>"
    response = form_post(client, "/space/requests", {"kind": "access", "details": details, "trusted_contact": ""})
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "вторая строка" in page and "&lt;b&gt;bold&lt;/b&gt;" in page and "<b>bold</b>" not in page


@pytest.mark.settings(RATELIMIT_ENABLED=False)
def test_an_import_with_control_characters_writes_no_contact(client, auth, make_account):
    make_account("ada@example.com", role=Role.ADMIN, name="Ada Admin")
    auth.login("ada@example.com")
    from .conftest import form_post

    clean = "external_ref,email,name\nref-clean,imp-clean@example.com,Zoé Ρаypаl\n"
    before = table_counts()
    form_post(client, "/admin/import", {"file": (BytesIO(clean.encode("utf-8")), "c.csv")},
              content_type="multipart/form-data")
    assert table_counts()["subjects"] == before["subjects"] + 1  # the same file, clean, is imported
    for kind in sorted(CONTROL):
        before = table_counts()
        csv = f"external_ref,email,name\nref-{kind},imp-{kind.lower()}@example.com,{PAYLOADS[kind]}\n"
        response = form_post(client, "/admin/import", {"file": (BytesIO(csv.encode("utf-8")), "c.csv")},
                             content_type="multipart/form-data")
        assert response.status_code < 500, kind
        assert table_counts()["subjects"] == before["subjects"], kind


def test_a_query_string_that_is_not_utf8_is_a_400_page(client):
    response = client.get("/login", environ_overrides={"QUERY_STRING": "next=/sp\xe9ce"})
    assert response.status_code == 400
    assert "text/html" in response.content_type
