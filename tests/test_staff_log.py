"""Every state-changing staff action, on the web or the command line, writes a staff log line.

The tables below are the list of what changes state: a new POST route or a
new command that is in neither table fails ``test_every_state_changing_route_is_known``
or ``test_every_command_is_known``; each entry of the logged tables is then
carried out for real and its line read back.
"""
from __future__ import annotations

import csv
import io
import json
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import click
import pyotp
import pytest
from freezegun import freeze_time
from sqlalchemy import select

from consent_center.accounts.api_clients import create_client
from consent_center.models import ApiClient, InboundHook, Role, StaffAction, WebhookEndpoint
from consent_center.inbound.hooks import create_hook
from consent_center.outbox.webhooks import add_endpoint
from consent_center.rights.requests import file_request
from consent_center.web.labels import STAFF_ACTION_LABELS

from .conftest import PASSWORD, csrf_from, form_post
from .test_admin_channels import PHONE
from .test_partners import PARTNERS, partners_channel
from .test_admin_policies import TEXTS
from .test_import import HEADER, good_row

WRITING_METHODS = {"POST", "PUT", "PATCH", "DELETE"}

# Every state-changing route a staff role reaches, and the action its line in the staff log names.
STAFF_ROUTES = {
    "admin.create_account_view": "account.created",
    "admin.disable_account": "account.disabled",
    "admin.add_channel": "channel.created",
    "admin.deactivate": "channel.deactivated",
    "admin.channel_reconsent": "channel.reconsent_required",
    "admin.channel_partners": "channel.partners_changed",
    "admin.create_key": "api_key.created",
    "admin.revoke_key": "api_key.revoked",
    "admin.add_webhook": "webhook.created",
    "admin.disable_webhook": "webhook.disabled",
    "admin.add_hook": "hook.created",
    "admin.revoke_hook_view": "hook.revoked",
    "admin.import_upload": "import.run",
    "admin.suppression_upload": "suppression_list.imported",
    "admin.publish": "policy.published",
    "admin.record_for_person": "consent.recorded_on_behalf",
    "audit.verify_ledger": "ledger.verified",
    "auth.second_factor_setup": "account.second_factor_enabled",
    # One route, one action per last path segment.
    "requests_desk.act": {
        "verify": "request.identity_checked",
        "extend": "request.extended",
        "carry-out": "request.carried_out",
        "reject": "request.declined",
        "announce-lift": "request.restriction_lift_announced",
        "lift": "request.restriction_lifted",
    },
}

# State-changing routes that are not staff actions in the back office, and why.
NOT_STAFF_ROUTES = {
    "api.check_many": "the API: a tool's key, not staff; reads only",
    "api.create_subject": "the API: a tool's key, not staff",
    "api.record_consent": "the API: a tool's key, not staff; the ledger holds the change",
    "api.unsubscribe_links": "the API: a tool's key, not staff; reads only",
    "api.update_subject": "the API: a tool's key, not staff",
    "api.report_activity": "the API: a tool's key, not staff; moves the subject's last contact only",
    "auth.accept_invitation": "anyone's own password, from an e-mailed link",
    "auth.forgot_password": "anyone's own password",
    "auth.reset_password": "anyone's own password",
    "auth.login": "anyone's own login",
    "auth.second_factor_login": "anyone's own login",
    "auth.logout": "anyone's own session",
    "auth.logout_everywhere": "anyone's own sessions",
    "auth.set_language": "anyone's own language",
    "public.confirm_signup": "the public: a newsletter sign-up",
    "public.manage": "the public: asks for a manage link",
    "public.manage_preferences": "the public: the person's own choices, through the ledger",
    "public.subscribe": "the public: a newsletter sign-up",
    "space.confirm_email": "a customer's own space",
    "space.preferences": "a customer's own space",
    "space.profile": "a customer's own space",
    "space.reconsent": "a customer's own space",
    "space.reconsent_later": "a customer's own space",
    "space.renew": "a customer's own space",
    "space.stop_all": "a customer's own space",
    "public.manage_renew": "the public: a manage link",
    "still_interested.question": "the public: the person's yes to \"still interested?\", through the ledger",
    "space.requests_list": "a customer's own space",
    "unsubscribe.unsubscribe": "the public: a one-click link",
    "unsubscribe.reason": "the public: a one-click link's page, after unsubscribing",
    "hooks.receive": "a provider's signed post: each message is kept as evidence, changes go through the ledger",
}

# Blueprints whose every writing route is a staff action: none of them may be exempted.
STAFF_BLUEPRINTS = ("admin", "requests_desk", "audit")

# Every command that changes state, and the action its line names (the actor is `cli`).
LOGGED_COMMANDS = {
    "user create": "account.created",
    "user set-role": "account.role_changed",
    "user reset-second-factor": "account.second_factor_reset",
    "apikey create": "api_key.created",
    "apikey revoke": "api_key.revoked",
    "policy publish": "policy.published",
    "import contacts": "import.run",
    "suppression import": "suppression_list.imported",
    "webhook add": "webhook.created",
    "webhook disable": "webhook.disabled",
    "hook create": "hook.created",
    "hook revoke": "hook.revoked",
    "ledger verify": "ledger.verified",
    "receipt rotate-key": "receipt_key.rotated",
    "ledger rotate-checkpoint-key": "checkpoint_key.rotated",
    "retention run": "retention.run",
    "consent expire": "consent.expiry_run",
    "suppression ingest-arf": "suppression.arf_ingested",
}

NOT_LOGGED_COMMANDS = {
    "apikey list": "reads only",
    "webhook list": "reads only",
    "suppression list": "reads only",
    "hook list": "reads only",
    "hook messages": "reads only (writes a file)",
    "receipt verify": "reads only",
    "ledger checkpoints": "reads only",
    "ledger checkpoint": "the log's routine (cron, the outbox worker): each checkpoint is its own record",
    "export events": "reads only (writes a file)",
    "db upgrade": "the schema, before there is a log to write to",
    "demo": "seeds a demo database",
    "outbox deliver": "the worker: each delivery is recorded on its outbox row",
}


def _writing_endpoints(app) -> dict[str, object]:
    return {rule.endpoint: rule for rule in app.url_map.iter_rules() if rule.methods & WRITING_METHODS}


def _commands(group: click.Group, prefix: str = ""):
    for name, command in group.commands.items():
        path = f"{prefix}{name}"
        if isinstance(command, click.Group):
            yield from _commands(command, f"{path} ")
        else:
            yield path


def test_every_state_changing_route_is_known(app):
    endpoints = set(_writing_endpoints(app))
    unknown = endpoints - set(STAFF_ROUTES) - set(NOT_STAFF_ROUTES)
    assert not unknown, f"say what these routes log (STAFF_ROUTES) or why they need not: {sorted(unknown)}"
    assert set(STAFF_ROUTES) <= endpoints and set(NOT_STAFF_ROUTES) <= endpoints
    exempted = {e for e in NOT_STAFF_ROUTES if e.split(".")[0] in STAFF_BLUEPRINTS}
    assert not exempted, f"every writing route of the back office logs: {sorted(exempted)}"


def test_every_command_is_known(app):
    commands = {c for c in _commands(app.cli) if not c.startswith(("routes", "shell", "run"))}
    unknown = commands - set(LOGGED_COMMANDS) - set(NOT_LOGGED_COMMANDS)
    assert not unknown, f"say what these commands log (LOGGED_COMMANDS) or why they need not: {sorted(unknown)}"
    assert set(LOGGED_COMMANDS) | set(NOT_LOGGED_COMMANDS) <= commands


def test_every_logged_action_has_a_label_on_the_log_page():
    actions = {a for v in STAFF_ROUTES.values() for a in (v.values() if isinstance(v, dict) else [v])}
    actions |= set(LOGGED_COMMANDS.values()) | {"channel.reconsent_not_required", "account.second_factor_disabled"}
    assert actions <= set(STAFF_ACTION_LABELS)


# --- Each staff route, carried out through the HTTP client ------------------------------------

@pytest.fixture
def admin(make_account, auth):
    account = make_account("ada@example.com", role=Role.ADMIN, locale="en")
    auth.login("ada@example.com")
    return account


def _request(session, customer, kind="access") -> str:
    found = file_request(session, customer.subject, kind)
    session.commit()
    return found.public_id


def _desk(client, public_id, action, data=None):
    page = f"/admin/requests/{public_id}"
    return form_post(client, page, data or {}, action=f"{page}/{action}")


CHECK = {"method": "code_to_address_on_file", "evidence": "Code read back on the phone, ticket 4411"}


def _verified_request(client, session, customer, kind="access") -> str:
    public_id = _request(session, customer, kind)
    assert _desk(client, public_id, "verify", CHECK).status_code == 302
    return public_id


def _import_file():
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADER)
    writer.writerow(good_row(1))
    return io.BytesIO(out.getvalue().encode("utf-8"))


def _enrol(client, session, customer):
    page = client.get("/staff/second-factor").get_data(as_text=True)
    secret = re.search(r"<code>([A-Z2-7]+)</code>", page).group(1)
    return form_post(client, "/staff/second-factor", {"code": pyotp.TOTP(secret).now()})


def _disable_account(client, session, customer):
    return form_post(client, "/admin/accounts", {}, action=f"/admin/accounts/{customer.id}/disable")


def _revoke_key(client, session, customer):
    issued = create_client(session, "Mailer", ["consent:read"])
    session.commit()
    return form_post(client, "/admin/keys", {}, action=f"/admin/keys/{issued.client.id}/revoke")


def _disable_webhook(client, session, customer):
    endpoint = add_endpoint(session, "https://tool.example.com/hook", None)
    session.commit()
    return form_post(client, "/admin/webhooks", {}, action=f"/admin/webhooks/{endpoint.public_id}/disable")


def _revoke_hook(client, session, customer):
    hook = create_hook(session, "sms", "generic").hook
    session.commit()
    return form_post(client, "/admin/hooks", {}, action=f"/admin/hooks/{hook.public_id}/revoke")


def _name_partners(client, session, customer):
    partners_channel(session)
    session.commit()
    token = csrf_from(client.get("/admin/channels").get_data(as_text=True))
    kept = {locale: names[0] for locale, names in PARTNERS.items()}  # a partner leaves; none may join
    return client.post("/admin/channels/partners/partners", data={
        "partners-csrf_token": token, "partners-partners_fr": kept["fr"],
        "partners-partners_nl": kept["nl"], "partners-partners_en": kept["en"]})


def _restricted(client, session, customer) -> str:
    public_id = _verified_request(client, session, customer, "restriction")
    assert _desk(client, public_id, "carry-out").status_code == 302
    return public_id


def _announce_lift(client, session, customer):
    return _desk(client, _restricted(client, session, customer), "announce-lift")


def _lift(client, session, customer):
    public_id = _restricted(client, session, customer)
    assert _desk(client, public_id, "announce-lift").status_code == 302
    with freeze_time(datetime.now(timezone.utc) + timedelta(days=15)):  # the date the person was told
        form_post(client, "/login", {"email": "ada@example.com", "password": PASSWORD})
        lifted = _desk(client, public_id, "lift")
    form_post(client, "/login", {"email": "ada@example.com", "password": PASSWORD})  # back to today's session
    return lifted


EXERCISES = {
    ("admin.create_account_view", None): lambda c, s, p: form_post(
        c, "/admin/accounts", {"email": "noor@example.com", "name": "Noor", "role": "support", "locale": "en"}),
    ("admin.disable_account", None): _disable_account,
    ("admin.add_channel", None): lambda c, s, p: form_post(c, "/admin/channels", PHONE),
    ("admin.deactivate", None): lambda c, s, p: form_post(c, "/admin/channels", {},
                                                          action="/admin/channels/newsletter/deactivate"),
    ("admin.channel_reconsent", None): lambda c, s, p: form_post(c, "/admin/channels", {"required": "yes"},
                                                                 action="/admin/channels/newsletter/reconsent"),
    ("admin.channel_partners", None): _name_partners,
    ("admin.create_key", None): lambda c, s, p: form_post(c, "/admin/keys", {"name": "Mailer",
                                                                             "scopes": ["consent:read"]}),
    ("admin.revoke_key", None): _revoke_key,
    ("admin.add_webhook", None): lambda c, s, p: form_post(c, "/admin/webhooks",
                                                           {"url": "https://tool.example.com/hook",
                                                            "topics": "consent.changed"}),
    ("admin.disable_webhook", None): _disable_webhook,
    ("admin.add_hook", None): lambda c, s, p: form_post(c, "/admin/hooks", {"provider": "sms/generic"}),
    ("admin.revoke_hook_view", None): _revoke_hook,
    ("admin.import_upload", None): lambda c, s, p: form_post(c, "/admin/import", {"file": (_import_file(), "c.csv")},
                                                             content_type="multipart/form-data"),
    ("admin.suppression_upload", None): lambda c, s, p: form_post(
        c, "/admin/suppression", {"name": "DNCM", "medium": "phone", "region": "BE",
                                  "file": (io.BytesIO(b"0470 12 34 56\n"), "dncm.txt")},
        content_type="multipart/form-data"),
    ("admin.publish", None): lambda c, s, p: form_post(c, "/admin/policies", {"label": "2099-01", **TEXTS}),
    ("admin.record_for_person", None): lambda c, s, p: form_post(
        c, f"/admin/people/{p.subject.public_id}", {"active": ["newsletter"], "method": "phone",
                                                    "evidence": "Called, ticket 12"}),
    ("audit.verify_ledger", None): lambda c, s, p: form_post(c, "/audit/", {}, action="/audit/verification"),
    ("auth.second_factor_setup", None): _enrol,
    ("requests_desk.act", "verify"): lambda c, s, p: _desk(c, _request(s, p), "verify", CHECK),
    ("requests_desk.act", "extend"): lambda c, s, p: _desk(c, _request(s, p), "extend",
                                                           {"days": "30", "reason": "Three systems to search."}),
    ("requests_desk.act", "carry-out"): lambda c, s, p: _desk(c, _verified_request(c, s, p), "carry-out"),
    ("requests_desk.act", "reject"): lambda c, s, p: _desk(c, _request(s, p), "reject"),
    ("requests_desk.act", "announce-lift"): _announce_lift,
    ("requests_desk.act", "lift"): _lift,
}


def _cases():
    for endpoint, action in STAFF_ROUTES.items():
        if isinstance(action, dict):
            yield from ((endpoint, sub, name) for sub, name in action.items())
        else:
            yield endpoint, None, action


def test_every_staff_route_has_an_exercise():
    assert {(e, sub) for e, sub, _ in _cases()} == set(EXERCISES)


@pytest.mark.parametrize(("endpoint", "sub", "action"), list(_cases()), ids=lambda v: str(v))
def test_each_staff_route_writes_its_line_naming_the_staff_member(app, client, session, admin, customer,
                                                                  endpoint, sub, action):
    response = EXERCISES[(endpoint, sub)](client, session, customer)
    assert response.status_code in (200, 302), response.get_data(as_text=True)[:500]
    session.rollback()
    line = session.scalars(select(StaffAction).order_by(StaffAction.id.desc())).first()
    assert line is not None and line.action == action
    assert line.account_id == admin.id and line.via == "web"
    text = json.dumps(line.details)
    for secret in ("correct horse", "password"):
        assert secret not in text
    page = client.get("/admin/log").get_data(as_text=True)
    with app.test_request_context(headers={"Accept-Language": "en"}):
        assert str(STAFF_ACTION_LABELS[action]).replace("'", "&#39;") in page


def test_a_new_key_and_a_webhook_secret_are_never_in_the_log(client, session, admin):
    page = form_post(client, "/admin/keys", {"name": "Mailer", "scopes": ["consent:read"]}).get_data(as_text=True)
    form_post(client, "/admin/webhooks", {"url": "https://tool.example.com/hook", "topics": "consent.changed"})
    session.rollback()
    client_row = session.scalars(select(ApiClient)).one()
    key = re.search(rf"({re.escape(client_row.key_prefix)}[A-Za-z0-9_\-.]+)", page).group(1)
    secret = session.scalars(select(WebhookEndpoint)).one().secret
    log = json.dumps([(a.target, a.details) for a in session.scalars(select(StaffAction))])
    assert key not in log and secret not in log and client_row.key_prefix in log


# --- Each command, through the CLI runner -----------------------------------------------------

def _cli_cases(tmp_path, session):
    policy = tmp_path / "policy.md"
    policy.write_text("# Policy\n", encoding="utf-8")
    contacts = tmp_path / "contacts.csv"
    contacts.write_bytes(_import_file().getvalue())
    # An abuse report that is not a complaint: read and kept, changing nothing.
    report = tmp_path / "report.eml"
    report.write_bytes((Path(__file__).parent / "data" / "arf_abuse.eml").read_bytes().replace(
        b"Feedback-Type: abuse", b"Feedback-Type: not-spam"))
    register = tmp_path / "bloctel.txt"
    register.write_text("06 12 34 56 78\n", encoding="utf-8")
    return {
        "user create": ["user", "create", "--email", "sam@example.com", "--role", "support",
                        "--password", "correct horse battery"],
        "user set-role": ["user", "set-role", "--email", "sam@example.com", "--role", "auditor"],
        "user reset-second-factor": ["user", "reset-second-factor", "--email", "sam@example.com"],
        "apikey create": ["apikey", "create", "--name", "Mailer", "--scope", "consent:read"],
        "apikey revoke": ["apikey", "revoke", "1"],
        "policy publish": ["policy", "publish", "--version", "2099-01", "--file", str(policy), "--locale", "en"],
        "import contacts": ["import", "contacts", str(contacts)],
        "suppression import": ["suppression", "import", "--list", "Bloctel", "--channel", "sms",
                               "--file", str(register)],
        "webhook add": ["webhook", "add", "--url", "https://tool.example.com/hook"],
        "webhook disable": None,  # its id is known once added
        "hook create": ["hook", "create", "--kind", "sms", "--provider", "generic"],
        "hook revoke": None,
        "ledger verify": ["ledger", "verify"],
        "receipt rotate-key": ["receipt", "rotate-key"],
        "ledger rotate-checkpoint-key": ["ledger", "rotate-checkpoint-key"],
        "retention run": ["retention", "run"],
        "consent expire": ["consent", "expire"],
        "suppression ingest-arf": ["suppression", "ingest-arf", str(report)],
    }


def test_each_command_writes_its_line_by_cli(runner, session, tmp_path):
    cases = _cli_cases(tmp_path, session)
    assert set(cases) == set(LOGGED_COMMANDS)
    for command, args in cases.items():
        if args is None and command == "hook revoke":
            session.rollback()
            args = ["hook", "revoke", session.scalars(select(InboundHook)).one().public_id]
        elif args is None:
            session.rollback()
            args = ["webhook", "disable", session.scalars(select(WebhookEndpoint)).one().public_id]
        result = runner.invoke(args=args)
        assert result.exit_code == 0, (command, result.output)
        session.rollback()
        line = session.scalars(select(StaffAction).order_by(StaffAction.id.desc())).first()
        assert line is not None and line.action == LOGGED_COMMANDS[command], command
        assert line.account_id is None and line.via == "cli"
    log = json.dumps([(a.target, a.details) for a in session.scalars(select(StaffAction))])
    assert "correct horse battery" not in log
    assert session.scalars(select(WebhookEndpoint)).one().secret not in log


def test_a_command_s_line_shows_as_cli_on_the_log_page(runner, client, session, make_account, auth):
    assert runner.invoke(args=["webhook", "add", "--url", "https://tool.example.com/hook"]).exit_code == 0
    make_account("ada@example.com", role=Role.ADMIN, locale="en")
    auth.login("ada@example.com")
    page = client.get("/admin/log").get_data(as_text=True)
    assert "Registered a webhook" in page and "<code>cli</code>" in page


def test_a_refused_command_writes_no_line(runner, session):
    result = runner.invoke(args=["apikey", "revoke", "404"])
    assert result.exit_code != 0
    session.rollback()
    assert session.scalars(select(StaffAction)).first() is None


def test_revoking_or_disabling_twice_logs_once(runner, session, client, make_account, auth):
    assert runner.invoke(args=["apikey", "create", "--name", "M", "--scope", "consent:read"]).exit_code == 0
    assert runner.invoke(args=["apikey", "revoke", "1"]).exit_code == 0
    assert runner.invoke(args=["apikey", "revoke", "1"]).exit_code == 0
    session.rollback()
    actions = session.scalars(select(StaffAction.action).order_by(StaffAction.id)).all()
    assert actions == ["api_key.created", "api_key.revoked"]

