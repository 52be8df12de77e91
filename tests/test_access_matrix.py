"""Who may use what: EVERY route of ``app.url_map``, every method, for every kind of caller.

The callers: an anonymous visitor, two customers (A and B), support, an
auditor, an admin, an API key of each scope, and a key that is not one.
Each endpoint belongs to one group of ``EXPECTED``, and each group says,
caller by caller, what the answer must be. A route that is in no group
fails the test, so nobody can add an unprotected route without saying who
may use it. The sample URLs name customer A's own receipt, data request
and subject, so customer B asks for A's data on every personal page: the
answer is a 404, and A's e-mail address is nowhere in what B gets.

One app and one database serve the whole module: the requests sent are
refused, or are posts without their form (a 400), or read; logging out is
sent last, on each caller's own client.
"""
from __future__ import annotations

from dataclasses import dataclass

import pytest
from flask import url_for

from consent_center import create_app
from consent_center.accounts.service import create_account
from consent_center.accounts.api_clients import SCOPES, create_client
from consent_center.api.routes.reference import swagger_ui_version
from consent_center.rights.requests import file_request
from consent_center.extensions import db as database
from consent_center.inbound.hooks import create_hook
from consent_center.ledger import Actor
from consent_center.models import Role
from consent_center.policies.service import publish_policy
from consent_center.receipts.documents import receipts_of

from .conftest import PASSWORD, IsolatedClient, csrf_from
from .test_admin_roles import SAMPLE_VALUES as ADMIN_SAMPLE_VALUES  # new /admin URL arguments land there

A_EMAIL, B_EMAIL = "annabelle.a@example.com", "bertrand.b@example.com"
INVALID_KEY = "cc_not_a_key_at_all_0123456789"

# Outcomes: what a caller must get from a route.
OK = "ok"              # past the door: neither 401 nor 403 nor the login page (and no 5xx)
ANYONE = "anyone"      # a public page: never 401 or 403 (it may send a visitor on to log in)
LOGIN = "login"        # a web page's refusal of an anonymous visitor: 302 to /login
FORBIDDEN = "403"      # logged in (or a key), but not allowed
UNAUTHENTICATED = "401"  # the API without a valid key
LOGGED_OUT = "logged out"  # logging out: back to the login page, with nothing to come back to
NOT_FOUND = "404"      # someone else's data: it does not exist, as far as this caller knows

WEB_ANONYMOUS = ("anonymous", "invalid key") + tuple(f"key {scope}" for scope in SCOPES)
STAFF = ("support", "auditor", "admin")
CALLERS = ("anonymous", "customer A", "customer B", *STAFF, *(f"key {s}" for s in SCOPES), "invalid key")


def web_group(allowed: set[str], *, own_data: bool = False) -> dict[str, str]:
    """A web page: ``allowed`` callers pass, other logged-in ones get 403, the rest go to login.

    ``own_data``: the URL names customer A's data, so customer B gets a 404.
    """
    outcomes = {}
    for caller in CALLERS:
        if caller in allowed:
            outcomes[caller] = OK
        elif caller in WEB_ANONYMOUS:
            outcomes[caller] = LOGIN
        else:
            outcomes[caller] = FORBIDDEN
    if own_data:
        outcomes["customer B"] = NOT_FOUND
    return outcomes


def api_group(scope: str) -> dict[str, str]:
    """An API endpoint: a key with ``scope`` passes, another key 403, no valid key 401."""
    return {caller: (OK if caller == f"key {scope}" else FORBIDDEN if caller.startswith("key ")
                     else UNAUTHENTICATED) for caller in CALLERS}


PUBLIC = dict.fromkeys(CALLERS, ANYONE)
LOGGED_IN = {caller: LOGGED_OUT if outcome == OK else outcome
             for caller, outcome in web_group({"customer A", "customer B", *STAFF}).items()}
ANY_STAFF = web_group(set(STAFF))
CUSTOMERS = web_group({"customer A", "customer B"})
CUSTOMER_A_DATA = web_group({"customer A", "customer B"}, own_data=True)
SUPPORT = web_group({"support", "admin"})
AUDIT = web_group({"auditor", "admin"})
ADMIN = web_group({"admin"})

GROUPS: dict[str, tuple[dict[str, str], set[str]]] = {
    # group: (outcomes, endpoints)
    "public": (PUBLIC, {
        "auth.index", "auth.login", "auth.forgot_password", "auth.forgot_password_sent",
        "auth.reset_password", "auth.accept_invitation", "auth.second_factor_login", "auth.set_language",
        "health.healthz", "health.readyz", "jwks.jwks", "branding.brand_css", "icons.favicon", "icons.logo",
        "namespace.document",
        "consent_log.checkpoint", "consent_log.key", "consent_log.keys", "verify_page.verify",
        "privacy.current", "privacy.diff", "privacy.version", "privacy.versions",
        "public.subscribe", "public.subscribe_sent", "public.confirm_signup", "public.manage",
        "public.manage_sent", "public.manage_preferences", "public.manage_renew", "public.manage_receipt",
        "unsubscribe.page", "unsubscribe.unsubscribe", "unsubscribe.receipt", "unsubscribe.reason",
        # A signed link from an e-mail: the token, not a login, is the key.
        "space.confirm_email", "still_interested.question",
        "api.openapi", "api.reference", "api.swagger_ui_file",
    }),
    "logged in": (LOGGED_IN, {"auth.logout", "auth.logout_everywhere"}),
    "staff": (ANY_STAFF, {"auth.staff_home", "auth.second_factor_setup", "admin.rules", "admin.repermission_campaign"}),
    "customer": (CUSTOMERS, {
        "space.preferences", "space.history", "space.my_data", "space.my_data_csv", "space.my_data_json",
        "space.profile", "space.receipts_list", "space.reconsent", "space.reconsent_later",
        "space.requests_list", "space.renew", "space.stop_all",
    }),
    "customer A's data": (CUSTOMER_A_DATA, {"space.receipt", "space.receipt_download", "space.request_detail"}),
    "support": (SUPPORT, {
        "admin.index", "admin.people", "admin.person", "admin.record_for_person",
        "requests_desk.queue", "requests_desk.detail", "requests_desk.act",
    }),
    "audit": (AUDIT, {
        "audit.index", "audit.counts", "audit.export_events", "audit.export_form", "audit.policies",
        "audit.search", "audit.subject", "audit.verify_ledger", "audit.download_checkpoint",
        "audit.download_verifier_key", "audit.inbound_messages", "audit.export_inbound_messages",
    }),
    "admin": (ADMIN, {
        "admin.accounts", "admin.create_account_view", "admin.disable_account", "admin.channels",
        "admin.add_channel", "admin.deactivate", "admin.keys", "admin.create_key", "admin.revoke_key",
        "admin.import_form", "admin.import_upload", "admin.policies", "admin.publish", "admin.staff_log",
        "admin.channel_reconsent", "admin.channel_partners", "admin.webhooks", "admin.add_webhook", "admin.disable_webhook",
        "admin.hooks", "admin.add_hook", "admin.revoke_hook_view", "admin.suppression_lists",
        "admin.suppression_upload",
    }),
    "api consent:read": (api_group("consent:read"), {
        "api.check", "api.check_many", "api.events", "api.list_consents", "api.unsubscribe_link",
        "api.unsubscribe_links",
    }),
    "api consent:write": (api_group("consent:write"), {"api.record_consent"}),
    "api subjects:write": (api_group("subjects:write"), {
        "api.create_subject", "api.get_subject", "api.update_subject", "api.report_activity"}),
    # A provider's post: its signature with the hook's secret is the key, never a login or an API key.
    "signed hooks": (dict.fromkeys(CALLERS, UNAUTHENTICATED), {"hooks.receive"}),
    "api audit:read": (api_group("audit:read"), {"api.export_events", "api.receipt", "api.log_inclusion",
                                                  "api.log_consistency", "api.log_checkpoints"}),
}
EXPECTED = {endpoint: outcomes for outcomes, endpoints in GROUPS.values() for endpoint in endpoints}


@dataclass
class World:
    app: object
    clients: dict
    values: dict  # URL argument -> sample value naming customer A's data
    a_texts: tuple[str, ...]  # what must never reach customer B


@pytest.fixture(scope="module")
def world(databases, tmp_path_factory):
    url = databases.create()
    app = create_app({"TESTING": True, "DATABASE_URL": url})
    app.test_client_class = IsolatedClient
    app.instance_path = str(tmp_path_factory.mktemp("instance"))
    with app.app_context():
        session = database.session
        accounts = {}
        for caller, email, role in [("customer A", A_EMAIL, Role.CUSTOMER), ("customer B", B_EMAIL, Role.CUSTOMER),
                                    ("support", "sam.support@example.com", Role.SUPPORT),
                                    ("auditor", "aude.auditor@example.com", Role.AUDITOR),
                                    ("admin", "ada.admin@example.com", Role.ADMIN)]:
            accounts[caller] = create_account(session, email=email, password=PASSWORD, role=role,
                                              actor=Actor.system(), name=caller.title(), locale="en")
        session.flush()
        subject_a = accounts["customer A"].subject
        request_a = file_request(session, subject_a, "access", details="Annabelle's own question")
        receipt_a = receipts_of(session, subject_a)[0]
        publish_policy(session, "v1", {"en": "We keep your choices.", "fr": "Nous gardons vos choix.",
                                       "nl": "Wij bewaren uw keuzes."})
        keys = {f"key {scope}": create_client(session, f"Only {scope}", [scope]).key for scope in SCOPES}
        hook = create_hook(session, "sms", "generic").hook
        session.commit()
        values = {
            "public_id": None,  # by endpoint, below
            "subject_id": subject_a.public_id, "receipt_id": receipt_a.public_id,
            "token": "not-a-valid-token", "nonce": "not-a-nonce", "label": "v1", "code": "nothing", "format": "csv",
            "account_id": 0, "client_id": 0, "action": "verify",
            "kind": "sms", "provider": "generic", "hook_id": hook.public_id,
            "version": swagger_ui_version(), "name": "swagger-ui.css",
        }
        public_ids = {"space.receipt": receipt_a.public_id, "space.receipt_download": receipt_a.public_id,
                      "space.request_detail": request_a.public_id, "admin.person": subject_a.public_id,
                      "audit.subject": subject_a.public_id, "requests_desk.detail": request_a.public_id,
                      "public.manage_receipt": receipt_a.public_id}
        values["public_id"] = public_ids
        session.remove()

        clients = {}
        for caller in CALLERS:
            client = app.test_client()
            if caller in accounts:
                response = _login(client, accounts_email(caller))
                assert response.status_code == 302, (caller, response.status_code)
            if caller.startswith("key "):
                client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {keys[caller]}"
            elif caller == "invalid key":
                client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {INVALID_KEY}"
            clients[caller] = client
        yield World(app, clients, values, (A_EMAIL, "Annabelle"))
        database.session.remove()
    database.engine.dispose()
    databases.drop(url)


def accounts_email(caller: str) -> str:
    return {"customer A": A_EMAIL, "customer B": B_EMAIL, "support": "sam.support@example.com",
            "auditor": "aude.auditor@example.com", "admin": "ada.admin@example.com"}[caller]


def _login(client, email: str):
    token = csrf_from(client.get("/login").get_data(as_text=True))
    return client.post("/login", data={"csrf_token": token, "email": email, "password": PASSWORD})


ENDS_THE_SESSION = {"auth.logout", "auth.logout_everywhere"}


def every_route(app, values) -> list[tuple[str, str, str]]:
    """(endpoint, method, url) of every rule but static files; logging out comes last."""
    routes = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        args = {}
        for arg in rule.arguments:
            sample = values[arg] if arg in values else ADMIN_SAMPLE_VALUES[arg]
            args[arg] = sample.get(rule.endpoint, "nobody") if isinstance(sample, dict) else sample
        with app.test_request_context():
            url = url_for(rule.endpoint, **args)
        routes += [(rule.endpoint, method, url) for method in sorted(rule.methods - {"HEAD", "OPTIONS"})]
    return sorted(routes, key=lambda route: (route[0] in ENDS_THE_SESSION, route))


def send(client, method: str, url: str):
    """The request, with a valid CSRF token on a web form so that only the caller decides."""
    if url.startswith("/api/"):
        return client.open(url, method=method, json={} if method != "GET" else None, buffered=True)
    data = None
    if method != "GET":
        data = {"csrf_token": csrf_from(client.get("/privacy", follow_redirects=True).get_data(as_text=True))}
    return client.open(url, method=method, data=data, buffered=True)


def verdict(response, expected: str) -> str | None:
    """None when ``response`` is what ``expected`` asks for, else what is wrong."""
    status = response.status_code
    location = response.headers.get("Location", "")
    if status >= 500:
        return f"server error {status}"
    if expected == ANYONE:
        if status in (401, 403):
            return f"refused ({status})"
    elif expected == OK:
        if status in (401, 403) or "/login" in location:
            return f"refused ({status} {location})"
    elif expected == LOGIN:
        if status != 302 or "/login?next=" not in location:
            return f"expected a redirect to login, got {status} {location}"
    elif expected == LOGGED_OUT:
        if status != 302 or not location.endswith("/login"):
            return f"expected to be logged out, got {status} {location}"
    elif expected == FORBIDDEN:
        if status != 403:
            return f"expected 403, got {status}"
    elif expected == UNAUTHENTICATED:
        if status != 401:
            return f"expected 401, got {status}"
    elif expected == NOT_FOUND:
        if status != 404:
            return f"expected 404, got {status}"
    return None


def test_every_route_has_an_expectation(app):
    """A new route fails here until someone says, in EXPECTED, who may use it."""
    served = {rule.endpoint for rule in app.url_map.iter_rules() if rule.endpoint != "static"}
    assert served - EXPECTED.keys() == set(), "routes without an expectation: say who may use them"
    assert EXPECTED.keys() - served == set(), "expectations for routes that no longer exist"
    grouped = [endpoint for _, endpoints in GROUPS.values() for endpoint in endpoints]
    assert len(grouped) == len(set(grouped)), "an endpoint is in two groups"


def test_the_outcome_table_is_complete_and_strict():
    for name, (outcomes, _) in GROUPS.items():
        assert set(outcomes) == set(CALLERS), name
    # Nothing but the public group lets every caller through.
    for name, (outcomes, _) in GROUPS.items():
        if name != "public":
            assert set(outcomes.values()) != {OK}, name
    # No customer page is open to staff, no staff page to a customer, no web page to a key.
    for endpoint, outcomes in EXPECTED.items():
        if endpoint.startswith(("admin.", "audit.", "requests_desk.")):
            assert outcomes["customer A"] == outcomes["customer B"] == FORBIDDEN, endpoint
        if not endpoint.startswith(("api.", "hooks.")) and endpoints_group(endpoint) != "public":
            assert all(outcomes[caller] == LOGIN for caller in WEB_ANONYMOUS), endpoint


def endpoints_group(endpoint: str) -> str:
    return next(name for name, (_, endpoints) in GROUPS.items() if endpoint in endpoints)


@pytest.mark.parametrize("caller", CALLERS)
def test_each_caller_gets_exactly_the_expected_answer_from_every_route(world, caller):
    client = world.clients[caller]
    wrong = []
    checked = 0
    for endpoint, method, url in every_route(world.app, world.values):
        expected = EXPECTED[endpoint][caller]
        response = send(client, method, url)
        checked += 1
        problem = verdict(response, expected)
        if problem:
            wrong.append(f"{method} {url} ({endpoint}): {problem}")
        if endpoint in ENDS_THE_SESSION and expected == LOGGED_OUT:
            # Both end every session of the account: the next one is tried logged in again.
            assert _login(client, accounts_email(caller)).status_code == 302
        # Staff may read A's record, and so may a key on the API; nobody else.
        # (A redirect's body only links to where it sends the caller, with the URL asked for.)
        if (caller not in ("customer A", *STAFF) and not (endpoint.startswith("api.") and expected == OK)
                and not 300 <= response.status_code < 400):
            body = response.get_data().decode("utf-8", "replace")  # an image too (/favicon.ico)
            leaked = [text for text in world.a_texts if text in body]
            if leaked:
                wrong.append(f"{method} {url}: customer A's data in the answer: {leaked}")
    assert checked >= 90
    assert not wrong, f"{caller}:\n" + "\n".join(wrong)


def test_customer_b_never_sees_customer_a_in_any_personal_page(world):
    """Every customer page and download of B, and A's own ids asked for by B."""
    client = world.app.test_client()  # the matrix logged B's own client out
    assert _login(client, B_EMAIL).status_code == 302
    pages = ["/space/preferences", "/space/history", "/space/receipts", "/space/data", "/space/data.json",
             "/space/data.csv", "/space/profile", "/space/requests"]
    for endpoint in ("space.receipt", "space.receipt_download", "space.request_detail"):
        with world.app.test_request_context():
            pages.append(url_for(endpoint, public_id=world.values["public_id"][endpoint]))
    for page in pages:
        response = client.get(page)
        assert response.status_code in (200, 404), (page, response.status_code)
        body = response.get_data(as_text=True)
        for text in world.a_texts:
            assert text not in body, (page, text)
    # A, for contrast, does see her own receipt: the 404 above is about whose it is.
    with world.app.test_request_context():
        own = url_for("space.receipt", public_id=world.values["public_id"]["space.receipt"])
    client_a = world.app.test_client()
    assert _login(client_a, A_EMAIL).status_code == 302
    assert client_a.get(own).status_code == 200
