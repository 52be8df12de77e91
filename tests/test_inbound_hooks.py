"""Inbound hooks are safe to expose: signed, in a replay window, idempotent, refused when revoked or malformed.

Through the generic SMS provider (Standard Webhooks), with a number no one
has: each accepted message is kept once, as evidence, and nothing else
is written by a refused one.
"""
from __future__ import annotations

import json
import re
import threading
from datetime import datetime, timedelta, timezone

import pytest
from freezegun import freeze_time
from sqlalchemy import func, select

from consent_center.models import InboundHook, InboundMessage, Role, StaffAction

from .conftest import form_post
from .inbound_fixtures import make_hook, path_of, post_generic, signed_generic, sms

NOW = datetime(2026, 12, 6, 20, 0, tzinfo=timezone.utc)


def _messages(session):
    session.rollback()
    return session.scalar(select(func.count()).select_from(InboundMessage))


def test_hook_create_prints_url_then_secret_alone_and_list_and_revoke(runner, session):
    result = runner.invoke(args=["hook", "create", "--kind", "sms", "--provider", "generic", "--name", "FR"])
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    hook = session.scalars(select(InboundHook)).one()
    assert lines[-1] == hook.secret and hook.secret.startswith("whsec_")
    assert f"http://localhost/hooks/sms/generic/{hook.public_id}" in lines
    listed = runner.invoke(args=["hook", "list"]).output
    assert hook.public_id in listed and "active" in listed and hook.secret not in listed
    assert "twilio" in runner.invoke(args=["hook", "list", "--providers"]).output
    # Twilio signs with the account's own token: it must be given.
    refused = runner.invoke(args=["hook", "create", "--kind", "sms", "--provider", "twilio"])
    assert refused.exit_code != 0 and "--secret" in refused.output
    assert runner.invoke(args=["hook", "create", "--kind", "sms", "--provider", "nope"]).exit_code != 0
    assert runner.invoke(args=["hook", "revoke", hook.public_id]).exit_code == 0
    assert runner.invoke(args=["hook", "revoke", hook.public_id]).exit_code == 0
    session.rollback()
    actions = session.scalars(select(StaffAction.action).order_by(StaffAction.id)).all()
    assert actions == ["hook.created", "hook.revoked"]
    assert hook.secret not in json.dumps([a.details for a in session.scalars(select(StaffAction))])


@freeze_time(NOW)
def test_a_signed_message_is_kept_once_and_answered(client, session):
    hook, url = make_hook(session)
    first = post_generic(client, url, hook, sms("Bonjour", id="SM1"), at=NOW)
    assert first.status_code == 200, first.get_data(as_text=True)
    assert first.json["accepted"][0]["outcome"] == "ignored" and first.json["duplicates"] == []
    # The provider retries: a new delivery id and timestamp, the same message id.
    again = post_generic(client, url, hook, sms("Bonjour", id="SM1"), at=NOW, delivery="msg_2")
    assert again.status_code == 200 and again.json == {"accepted": [], "duplicates": ["SM1"]}
    message = session.scalars(select(InboundMessage)).one()
    assert message.sender == "+33612345678" and '"Bonjour"' in message.payload
    assert (message.provider_message_id, message.outcome) == ("SM1", "ignored")


@freeze_time(NOW)
@pytest.mark.parametrize("case", ["unsigned", "bad signature", "other secret", "old", "future", "changed body",
                                  "not json", "no id", "text not a string", "bad moment", "array"])
def test_a_refused_request_answers_a_problem_and_writes_nothing(client, session, case):
    hook, url = make_hook(session)
    body = sms("STOP")
    data, headers = signed_generic(hook, body, at=NOW)
    if case == "unsigned":
        headers.pop("webhook-signature")
    elif case == "bad signature":
        headers["webhook-signature"] = "v1," + "A" * 44
    elif case == "other secret":
        data, headers = signed_generic(hook, body, at=NOW, secret="whsec_" + "QUFB" * 11)
    elif case == "old":
        data, headers = signed_generic(hook, body, at=NOW - timedelta(minutes=6))
    elif case == "future":
        data, headers = signed_generic(hook, body, at=NOW + timedelta(minutes=6))
    elif case == "changed body":
        data = data.replace(b"STOP", b"STAR")
    else:
        bad = {"not json": b"STOP", "no id": json.dumps({**body, "id": ""}).encode(),
               "text not a string": json.dumps({**body, "text": 5}).encode(),
               "bad moment": json.dumps({**body, "received_at": "yesterday"}).encode(),
               "array": b"[]"}[case]
        data, headers = signed_generic(hook, bad, at=NOW)
    response = client.post(path_of(url), data=data, headers=headers)
    expected = 400 if case in ("not json", "no id", "text not a string", "bad moment", "array") else 401
    assert response.status_code == expected, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json" and response.json["status"] == expected
    assert _messages(session) == 0


@freeze_time(NOW)
def test_several_signatures_one_valid_pass_and_the_window_is_five_minutes(client, session):
    hook, url = make_hook(session)
    data, headers = signed_generic(hook, sms("hi"), at=NOW - timedelta(minutes=4, seconds=59))
    headers["webhook-signature"] = "v1,bm90IGl0 " + headers["webhook-signature"]
    assert client.post(path_of(url), data=data, headers=headers).status_code == 200


@freeze_time(NOW)
def test_unknown_wrong_provider_and_revoked_hooks_are_refused(client, session, runner):
    hook, url = make_hook(session)
    body = sms("STOP")
    assert post_generic(client, url.replace(hook.public_id, "hk_0000000000000000"), hook, body, at=NOW
                        ).status_code == 404
    assert post_generic(client, url.replace("/generic/", "/twilio/"), hook, body, at=NOW).status_code == 404
    assert post_generic(client, url.replace("/sms/", "/email/"), hook, body, at=NOW).status_code == 404
    assert runner.invoke(args=["hook", "revoke", hook.public_id]).exit_code == 0
    refused = post_generic(client, url, hook, body, at=NOW)
    assert refused.status_code == 410 and refused.json["type"].endswith(":hook-revoked")
    # Without the secret, a revoked hook is only "unsigned".
    assert client.post(path_of(url), json=body).status_code == 401
    assert client.get(path_of(url)).status_code == 405
    assert _messages(session) == 0


@pytest.mark.settings(HOOK_MAX_BODY=200)
def test_a_body_too_large_is_refused_before_reading(client, session):
    hook, url = make_hook(session)
    data, headers = signed_generic(hook, sms("x" * 300))
    assert client.post(path_of(url), data=data, headers=headers).status_code == 413
    assert _messages(session) == 0


def test_the_same_message_six_times_at_once_is_kept_once(app, session):
    hook, url = make_hook(session)
    barrier = threading.Barrier(6)
    codes = []

    def post(n):
        data, headers = signed_generic(hook, sms("Hello", id="SM-race"), delivery=f"msg_{n}")
        barrier.wait()
        codes.append(app.test_client().post(path_of(url), data=data, headers=headers).status_code)

    threads = [threading.Thread(target=post, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert codes == [200] * 6
    assert _messages(session) == 1


def test_admin_creates_and_revokes_a_hook_with_csrf_and_staff_log(client, session, make_account, auth):
    make_account("ada@example.com", role=Role.ADMIN, locale="en")
    auth.login("ada@example.com")
    page = form_post(client, "/admin/hooks", {"provider": "sms/generic", "name": "FR short code"})
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    session.rollback()
    hook = session.scalars(select(InboundHook)).one()
    html = page.get_data(as_text=True)
    assert hook.secret in html and f"/hooks/sms/generic/{hook.public_id}" in html
    missing = form_post(client, "/admin/hooks", {"provider": "sms/twilio"})
    assert missing.status_code == 400 and "auth token" in missing.get_data(as_text=True)
    assert client.post(f"/admin/hooks/{hook.public_id}/revoke").status_code == 400  # no CSRF token
    done = form_post(client, "/admin/hooks", {}, action=f"/admin/hooks/{hook.public_id}/revoke")
    assert done.status_code == 302
    session.rollback()
    assert session.get(InboundHook, hook.id).revoked_at is not None
    log = session.scalars(select(StaffAction).order_by(StaffAction.id)).all()
    assert [a.action for a in log][-2:] == ["hook.created", "hook.revoked"] and log[-1].via == "web"
    assert hook.secret not in client.get("/admin/hooks").get_data(as_text=True)
    assert re.search(r"Revoked on", client.get("/admin/hooks").get_data(as_text=True))


@freeze_time(NOW)
def test_auditors_see_and_export_the_messages_and_the_command_exports_them(client, session, runner, make_account,
                                                                          auth, tmp_path):
    hook, url = make_hook(session)
    assert post_generic(client, url, hook, sms("Bonjour", id="SM-a"), at=NOW).status_code == 200
    make_account("aude@example.com", role=Role.AUDITOR, locale="en")
    auth.login("aude@example.com")
    page = client.get("/audit/inbound").get_data(as_text=True)
    assert "SM-a" in page and "+33612345678" in page and "ignored" in page
    export = client.get("/audit/inbound/messages.jsonl", buffered=True)
    row = json.loads(export.get_data(as_text=True).splitlines()[0])
    assert export.status_code == 200 and row["provider_message_id"] == "SM-a" and row["hook"] == hook.public_id
    out = tmp_path / "inbound.jsonl"
    assert runner.invoke(args=["hook", "messages", "--export", str(out)]).exit_code == 0
    assert json.loads(out.read_text())["payload"] == row["payload"]
